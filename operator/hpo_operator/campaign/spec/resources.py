"""Where a campaign runs: the resources of its trials and Ray cluster, and its shared storage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..shown import quote
from . import bounds
from .base import SpecModel
from .k8s import DnsSubdomain, ImageReference, LabelKey, LabelValue, MemoryQuantity, MountPath
from .trial_resources import Bundle, CustomResources, PerTrialResources

__all__ = ["Bundle", "ClusterResources", "PerTrialResources", "Resources", "Storage", "Toleration"]


class Toleration(SpecModel):
    """A Kubernetes toleration, checked as the API server checks a pod's."""

    key: LabelKey | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: LabelValue | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, ge=bounds.INT64_MIN, le=bounds.INT64_MAX)

    @model_validator(mode="after")
    def _as_kubernetes_checks_it(self) -> Toleration:
        if not self.key and self.operator != "Exists":
            raise ValueError("a toleration without a key must have operator Exists")
        if self.operator == "Exists" and self.value:
            raise ValueError("a toleration with operator Exists must have no value")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError("tolerationSeconds needs effect NoExecute")
        return self


class ClusterResources(SpecModel):
    """The Ray cluster a campaign gets on Kubernetes (ignored by the local backend)."""

    image: ImageReference | None = Field(default=None,
                                         description="Ray image with the trainer installed.")
    workers: int = Field(default=1, ge=0, le=bounds.MAX_WORKERS)
    cpus_per_worker: float = Field(default=4, ge=bounds.MIN_POD_CPUS, le=bounds.MAX_CPUS)
    gpus_per_worker: int = Field(default=0, ge=0, le=bounds.MAX_GPUS)
    memory_per_worker: MemoryQuantity = "8Gi"
    custom_per_worker: CustomResources = Field(
        default_factory=dict, description="Custom Ray resources each node that runs trials "
        "advertises (the workers; the head when there are none), for resources.perTrial.custom.")
    head_cpus: float = Field(default=2, ge=bounds.MIN_POD_CPUS, le=bounds.MAX_CPUS)
    head_memory: MemoryQuantity = "4Gi"
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict,
                                                      max_length=bounds.MAX_NODE_SELECTOR)
    tolerations: list[Toleration] = Field(default_factory=list, max_length=bounds.MAX_TOLERATIONS)


class Resources(SpecModel):
    per_trial: PerTrialResources = Field(default_factory=PerTrialResources)
    cluster: ClusterResources = Field(default_factory=ClusterResources)


class Storage(SpecModel):
    """Where experiment state lives; on Kubernetes it must outlive the head pod."""

    path: MountPath | None = Field(default=None, description="Absolute path of a directory the "
                                   "Ray pods or Slurm nodes share (where volumeClaim is mounted, "
                                   "an NFS mount).")
    volume_claim: DnsSubdomain | None = Field(default=None,
                                              description="PVC mounted at path on Ray pods.")

    @field_validator("path", mode="before")
    @classmethod
    def _a_shared_directory(cls, path: object) -> object:
        if isinstance(path, str) and "://" in path:
            raise ValueError(f"{quote(path)}: object storage URIs are not supported; mount shared "
                             "storage (a ReadWriteMany volumeClaim, NFS) and give its path")
        if isinstance(path, str) and not path.startswith("/"):
            raise ValueError(f"{quote(path)} must be an absolute path: it is a mount point in the "
                             "Ray pods and the same directory on every Slurm node")
        return path
