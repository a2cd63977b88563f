"""What each trial asks Ray for: CPUs, GPUs, memory and custom resources, as one bundle or as a
placement group of several (a trial that starts workers of its own).

The amounts are kept in Ray's own names by :meth:`PerTrialResources.ray_bundles`, which the Tune
driver, the schedulability checks and the backends' sizing all read: one place says what a trial
takes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ..shown import quote
from . import bounds
from .base import SpecModel
from .k8s import MemoryQuantity, memory_bytes

RESOURCE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
# Ray's predefined resources, and the suffix it gives a placement group's own resources.
_RESERVED = ("cpu", "gpu", "memory", "object_store_memory")
_PLACEMENT_GROUP_MARK = "_group_"
PlacementStrategy = Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]


def _resource_name(name: str) -> str:
    if name.lower() in _RESERVED:
        raise ValueError(f"{quote(name)} is one of Ray's predefined resources: use the cpu, gpu "
                         "or memory field")
    if _PLACEMENT_GROUP_MARK in name:
        raise ValueError(f"{quote(name)}: Ray names a placement group's resources with "
                         f"'{_PLACEMENT_GROUP_MARK}'; choose another name")
    return name


ResourceName = Annotated[str, Field(min_length=1, max_length=bounds.MAX_RESOURCE_NAME,
                                    pattern=RESOURCE_NAME_PATTERN),
                         AfterValidator(_resource_name)]
Amount = Annotated[float, Field(gt=0, le=bounds.MAX_CUSTOM_AMOUNT)]
CustomResources = Annotated[dict[ResourceName, Amount],
                            Field(max_length=bounds.MAX_CUSTOM_RESOURCES)]


def ray_resources(cpu: float, gpu: float, memory: str | None,
                  custom: dict[str, float]) -> dict[str, float]:
    """One bundle in Ray's names (``CPU``, ``GPU``, ``memory`` in bytes), zeros left out."""
    amounts = {"CPU": float(cpu), "GPU": float(gpu),
               "memory": float(int(memory_bytes(memory))) if memory else 0.0,
               **{name: float(amount) for name, amount in custom.items()}}
    return {name: amount for name, amount in amounts.items() if amount}


class Bundle(SpecModel):
    """One worker of a trial: a placement-group bundle. The first is the trial's own process."""

    cpu: float = Field(default=0, ge=0, le=bounds.MAX_CPUS)
    gpu: float = Field(default=0, ge=0, le=bounds.MAX_GPUS)
    memory: MemoryQuantity | None = None
    custom: CustomResources = Field(default_factory=dict)

    @model_validator(mode="after")
    def _asks_for_something(self) -> Bundle:
        if not self.ray():
            raise ValueError("a bundle must ask for some cpu, gpu, memory or custom resource "
                             "(Ray refuses an empty bundle)")
        return self

    def ray(self) -> dict[str, float]:
        return ray_resources(self.cpu, self.gpu, self.memory, self.custom)


class PerTrialResources(SpecModel):
    """A trial's resources: ``cpu``, ``gpu``, ``memory`` and ``custom`` for a one-process trial,
    or ``bundles`` (with ``placementStrategy``) for a trial of several workers."""

    cpu: float = Field(default=1, ge=bounds.MIN_TRIAL_CPUS, le=bounds.MAX_CPUS)
    gpu: float = Field(default=0, ge=0, le=bounds.MAX_GPUS)
    memory: MemoryQuantity | None = Field(default=None, description="Memory Ray reserves for "
                                          "the trial, a quantity such as 512Mi or 4Gi.")
    custom: CustomResources = Field(default_factory=dict, description="Custom Ray resources "
                                    "(name: amount) the trial needs, e.g. {accelerator_v5: 1}.")
    bundles: list[Bundle] = Field(default_factory=list, max_length=bounds.MAX_BUNDLES,
                                  description="A placement group: one bundle per worker of the "
                                  "trial; replaces cpu, gpu, memory and custom.")
    placement_strategy: PlacementStrategy = Field(
        default="PACK", description="How Ray places the bundles: PACK, SPREAD (best effort), "
        "STRICT_PACK (one node), STRICT_SPREAD (one node each).")

    @model_validator(mode="after")
    def _one_way(self) -> PerTrialResources:
        # cpu and gpu have defaults a dumped manifest spells out: only other values conflict.
        single = [name for name, value, default in (
            ("cpu", self.cpu, 1), ("gpu", self.gpu, 0), ("memory", self.memory, None),
            ("custom", self.custom, {})) if value != default]
        if self.bundles and single:
            raise ValueError(f"give a trial's resources either as {', '.join(single)} or as "
                             "bundles, not both: with bundles, the first bundle is the trial's "
                             "own process")
        if not self.bundles and "placement_strategy" in self.model_fields_set \
                and self.placement_strategy != "PACK":
            raise ValueError("placementStrategy places bundles: give bundles too")
        return self

    def ray_bundles(self) -> list[dict[str, float]]:
        """The trial's bundles in Ray's names; one bundle when no ``bundles`` are given."""
        if self.bundles:
            return [bundle.ray() for bundle in self.bundles]
        return [ray_resources(self.cpu, self.gpu, self.memory, self.custom)]

    def total(self) -> dict[str, float]:
        """What one trial takes from the cluster in all."""
        total: dict[str, float] = {}
        for bundle in self.ray_bundles():
            for name, amount in bundle.items():
                total[name] = total.get(name, 0.0) + amount
        return total
