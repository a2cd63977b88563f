"""The trial configuration: the keys a campaign may set, their defaults and their checks.

A Tune trial's ``config`` dict is parsed once, at the boundary, into a frozen
:class:`TrialConfig`; unknown keys are rejected so a typo in a search space (``learning_rate``)
fails the trial at once instead of silently tuning nothing. Integer keys accept integral floats
because several searchers return ``64.0`` for an integer dimension.

Each key is declared once, as a field of :class:`TrialConfig`: its type (which picks the parser),
its default, its range (field metadata ``min``/``max``, inclusive, and ``above``/``below``,
exclusive) and its group. One loop parses every key by its declaration; :func:`check` applies
the same rule to a single value, for the modules that take these values directly.

The groups decide what :meth:`TrainingSession.reconfigure` must rebuild: algorithm
hyperparameters keep the model's weights, everything else starts a fresh model.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any

from .data import DEFAULT_DATASET, DEFAULT_TARGET_KEY

# Range rules a field may declare in its metadata.
BOUNDS = ("min", "above", "max", "below")


def _meta(group: str | None = None, **bounds: float) -> dict[str, Any]:
    """A config key's field metadata: its group and its range (``min=1``, ``above=0``, ...)."""
    unknown = set(bounds) - set(BOUNDS)
    if unknown:
        raise TypeError(f"unknown range rules {sorted(unknown)}; known: {list(BOUNDS)}")
    return {"group": group, **bounds}


@dataclass(frozen=True)
class LRSchedule:
    """Multiply the learning rate by ``gamma`` once each milestone (in iterations) has passed."""

    milestones: tuple[int, ...] = field(metadata={"min": 1})  # the rule of each milestone
    gamma: float = field(metadata={"above": 0, "max": 1})

    @classmethod
    def from_value(cls, value: Any) -> LRSchedule:
        if not isinstance(value, Mapping) or set(value) != {"milestones", "gamma"}:
            raise ValueError("lr_schedule must be a mapping with exactly the keys 'milestones' "
                             f"and 'gamma', but got {value!r}")
        rules = {f.name: f.metadata for f in fields(cls)}
        key = "lr_schedule.milestones[]"
        milestones = tuple(_in_range(key, _as_int(key, m), rules["milestones"])
                           for m in value["milestones"])
        if list(milestones) != sorted(set(milestones)):
            raise ValueError(f"lr_schedule.milestones must be increasing, but got {milestones}")
        key = "lr_schedule.gamma"
        gamma = _in_range(key, _as_float(key, value["gamma"]), rules["gamma"])
        return cls(milestones, gamma)


@dataclass(frozen=True)
class TrialConfig:
    """Everything one trial needs; see the module docstring for how keys are declared."""

    lr: float = field(default=1e-2, metadata=_meta("algorithm", above=0))
    """Adam's learning rate (the base rate when ``lr_schedule`` is set)."""
    batch_size: int = field(default=64, metadata=_meta("algorithm", min=1))
    """Training structures per batch."""
    atom_embedding_size: int = field(default=64, metadata=_meta("architecture", min=1))
    """Width of the atom features, kept through all convolutions."""
    num_graph_conv_layers: int = field(default=3, metadata=_meta("architecture", min=1))
    """Number of CGConv layers."""
    fc_feat_size: int = field(default=128, metadata=_meta("architecture", min=1))
    """Width of the fully connected layers after pooling."""
    num_fc_layers: int = field(default=2, metadata=_meta("architecture", min=1))
    """Number of hidden fully connected layers after pooling."""
    dataset: str = field(default=DEFAULT_DATASET, metadata=_meta("data"))
    """A named data set or the path of a user file."""
    seed: int = field(default=0, metadata=_meta("split", min=0))
    """Seeds the train/validation split, the initial weights and the batch order."""
    val_fraction: float = field(default=0.2, metadata=_meta("split", above=0, below=1))
    """Share of the structures held out for validation."""
    max_structures: int | None = field(default=None, metadata=_meta("data", min=2))
    """Read only the first this many structures; None reads all (a split needs two)."""
    epochs_per_step: int = field(default=1, metadata=_meta(min=1))
    """Training epochs per Tune step (per reported result)."""
    lr_schedule: LRSchedule | None = field(default=None, metadata=_meta())
    """``{milestones: [...], gamma: ...}``, milestones counted in steps; None: a constant lr."""
    device: str | None = field(default=None, metadata=_meta())
    """A torch device; None (or ``auto``): cuda if available, else cpu."""
    num_threads: int = field(default=1, metadata=_meta(min=1))
    """Torch threads of the trial's process."""
    max_memory_gb: float = field(default=8.0, metadata=_meta(above=0))
    """Largest estimated memory (GiB) a trial may need; a config over it is refused at once."""
    target_key: str = field(default=DEFAULT_TARGET_KEY, metadata=_meta("data"))
    """Where each structure's target (eV) is read from."""
    cutoff: float = field(default=6.0, metadata=_meta("data", above=0))
    """Neighbour search radius, in Å; also the end of the Gaussian expansion of distances."""
    num_gaussians: int = field(default=40, metadata=_meta("data", min=2))
    """Gaussians of the distance expansion: the size of the edge features."""
    max_neighbors: int | None = field(default=12, metadata=_meta("data", min=1))
    """Nearest neighbours each atom keeps; None keeps all within ``cutoff``."""

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> TrialConfig:
        """Parse and check a Tune config dict, each key by its declaration.

        Raises:
            ValueError: an unknown key or a value of the wrong type or range; the message names
                the key, shows the value and states the rule.
        """
        declared = {f.name: f for f in fields(cls)}
        unknown = sorted(set(config) - set(declared))
        if unknown:
            raise ValueError(f"unknown trial config keys {unknown}; known keys: {sorted(declared)}")
        return cls(**{key: _parse(declared[key], value) for key, value in config.items()})

    def differs_in(self, other: TrialConfig) -> frozenset[str]:
        """Names of the keys whose values differ between ``self`` and ``other``."""
        return frozenset(f.name for f in fields(self)
                         if getattr(self, f.name) != getattr(other, f.name))


def _group(name: str) -> frozenset[str]:
    return frozenset(f.name for f in fields(TrialConfig) if f.metadata["group"] == name)


_DECLARED = {f.name: f for f in fields(TrialConfig)}
ALGORITHM_KEYS = _group("algorithm")
ARCHITECTURE_KEYS = _group("architecture")
DATA_KEYS = _group("data")
SPLIT_KEYS = _group("split")


def check(key: str, value: Any) -> Any:
    """``value`` parsed and checked by the declaration of config key ``key``.

    Raises:
        ValueError: as :meth:`TrialConfig.from_dict` does for that key.
    """
    if key not in _DECLARED:
        raise ValueError(f"unknown trial config key {key!r}; known keys: {sorted(_DECLARED)}")
    return _parse(_DECLARED[key], value)


def _parse(f: Field[Any], value: Any) -> Any:
    """One key's value parsed by its declared type, then checked against its declared range."""
    kind, _, rest = str(f.type).partition(" | ")
    if value is None:
        if rest == "None":
            return None
        if kind == "str":
            return f.default  # a null string key is unset
    parsed = _PARSERS[kind](f.name, value)
    return _in_range(f.name, parsed, f.metadata)


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if isinstance(value, numbers.Integral):
            return int(value)
        if float(value).is_integer():
            return int(float(value))
    raise ValueError(f"{key} must be an integer, but got {value!r}")


def _as_float(key: str, value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{key} must be a number, but got {value!r}")


def _as_str(key: str, value: Any) -> str:
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return os.fspath(value)
    raise ValueError(f"{key} must be a non-empty string, but got {value!r}")


def _as_schedule(key: str, value: Any) -> LRSchedule:
    return LRSchedule.from_value(value)


# Parsers by declared type: a key's annotation (its first member) picks one.
_PARSERS = {"int": _as_int, "float": _as_float, "str": _as_str, "LRSchedule": _as_schedule}


def _in_range(key: str, number: Any, rule: Mapping[str, Any]) -> Any:
    """``number`` if it meets the declared range ``rule``, else a ValueError stating the rule."""
    if (("min" in rule and number < rule["min"]) or ("above" in rule and number <= rule["above"])
            or ("max" in rule and number > rule["max"])
            or ("below" in rule and number >= rule["below"])):
        raise ValueError(f"{key} must be {_describe(rule)}, but got {number}")
    return number


def _describe(rule: Mapping[str, Any]) -> str:
    """A declared range in words: ``at least 1``, ``positive``, ``in (0, 1)``, ``in (0, 1]``."""
    low = f"[{rule['min']}" if "min" in rule else f"({rule['above']}" if "above" in rule else None
    high = f"{rule['max']}]" if "max" in rule else f"{rule['below']})" if "below" in rule else None
    if low is not None and high is not None:
        return f"in {low}, {high}"
    if "min" in rule:
        return f"at least {rule['min']}"
    if "above" in rule:
        return "positive" if rule["above"] == 0 else f"greater than {rule['above']}"
    if "max" in rule:
        return f"at most {rule['max']}"
    return f"less than {rule['below']}"
