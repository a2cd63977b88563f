"""The trial configuration: the keys a campaign may set, their defaults and their checks.

A Tune trial's ``config`` dict is parsed once, at the boundary, into a frozen
:class:`TrialConfig`; unknown keys are rejected so a typo in a search space (``learning_rate``)
fails the trial at once instead of silently tuning nothing. Integer keys accept integral floats
because several searchers return ``64.0`` for an integer dimension.

The keys fall into groups that decide what :meth:`TrainingSession.reconfigure` must rebuild:
algorithm hyperparameters keep the model's weights, everything else starts a fresh model.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .data import DEFAULT_DATASET, DEFAULT_TARGET_KEY

# The six hyperparameters of the guide, split by what changing them implies.
ALGORITHM_KEYS = frozenset({"lr", "batch_size"})
ARCHITECTURE_KEYS = frozenset(
    {"atom_embedding_size", "num_graph_conv_layers", "fc_feat_size", "num_fc_layers"})
DATA_KEYS = frozenset(
    {"dataset", "target_key", "max_structures", "cutoff", "num_gaussians", "max_neighbors"})
SPLIT_KEYS = frozenset({"seed", "val_fraction"})


@dataclass(frozen=True)
class LRSchedule:
    """Multiply the learning rate by ``gamma`` once each milestone (in iterations) has passed."""

    milestones: tuple[int, ...]
    gamma: float

    @classmethod
    def from_value(cls, value: Any) -> LRSchedule:
        if not isinstance(value, Mapping) or set(value) != {"milestones", "gamma"}:
            raise ValueError("lr_schedule must be a mapping with exactly the keys 'milestones' "
                             f"and 'gamma', but got {value!r}")
        milestones = tuple(_as_int("lr_schedule.milestones[]", m, 1) for m in value["milestones"])
        if list(milestones) != sorted(set(milestones)):
            raise ValueError(f"lr_schedule.milestones must be increasing, but got {milestones}")
        gamma = _as_float("lr_schedule.gamma", value["gamma"])
        if not 0 < gamma <= 1:
            raise ValueError(f"lr_schedule.gamma must be in (0, 1], but got {gamma}")
        return cls(milestones, gamma)


@dataclass(frozen=True)
class TrialConfig:
    """Everything one trial needs; see the module docstring for how keys are grouped."""

    lr: float = 1e-2
    batch_size: int = 64
    atom_embedding_size: int = 64
    num_graph_conv_layers: int = 3
    fc_feat_size: int = 128
    num_fc_layers: int = 2
    dataset: str = DEFAULT_DATASET
    seed: int = 0
    val_fraction: float = 0.2
    max_structures: int | None = None
    epochs_per_step: int = 1
    lr_schedule: LRSchedule | None = None
    device: str | None = None  # None: cuda if available, else cpu
    num_threads: int = 1
    target_key: str = DEFAULT_TARGET_KEY
    cutoff: float = 6.0
    num_gaussians: int = 40
    max_neighbors: int | None = 12

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> TrialConfig:
        """Parse and check a Tune config dict.

        Raises:
            ValueError: an unknown key or a value of the wrong type or range; the message names
                the key and shows the value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown trial config keys {unknown}; known keys: {sorted(known)}")
        values = dict(config)
        parsed: dict[str, Any] = {}
        for key in ("batch_size", "atom_embedding_size", "num_graph_conv_layers", "fc_feat_size",
                    "num_fc_layers", "epochs_per_step", "num_threads", "num_gaussians"):
            if key in values:
                parsed[key] = _as_int(key, values[key], 2 if key == "num_gaussians" else 1)
        for key in ("max_structures", "max_neighbors"):
            if values.get(key) is not None:
                parsed[key] = _as_int(key, values[key], 2 if key == "max_structures" else 1)
            elif key in values:
                parsed[key] = None
        if "seed" in values:
            parsed["seed"] = _as_int("seed", values["seed"], 0)
        for key in ("lr", "cutoff"):
            if key in values:
                parsed[key] = _as_float(key, values[key])
                if parsed[key] <= 0:
                    raise ValueError(f"{key} must be positive, but got {parsed[key]}")
        if "val_fraction" in values:
            parsed["val_fraction"] = _as_float("val_fraction", values["val_fraction"])
            if not 0 < parsed["val_fraction"] < 1:
                raise ValueError(
                    f"val_fraction must be in (0, 1), but got {values['val_fraction']}")
        if values.get("lr_schedule") is not None:
            parsed["lr_schedule"] = LRSchedule.from_value(values["lr_schedule"])
        for key in ("dataset", "target_key", "device"):
            if values.get(key) is not None:
                value = values[key]
                if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                    raise ValueError(f"{key} must be a non-empty string, but got {value!r}")
                parsed[key] = os.fspath(value)
        return cls(**parsed)

    def differs_in(self, other: TrialConfig) -> frozenset[str]:
        """Names of the keys whose values differ between ``self`` and ``other``."""
        return frozenset(f.name for f in fields(self)
                         if getattr(self, f.name) != getattr(other, f.name))


def _as_int(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{key} must be an integer, but got {value!r}")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif float(value).is_integer():
        number = int(float(value))
    else:
        raise ValueError(f"{key} must be an integer, but got {value!r}")
    if number < minimum:
        raise ValueError(f"{key} must be at least {minimum}, but got {number}")
    return number


def _as_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{key} must be a number, but got {value!r}")
    return float(value)
