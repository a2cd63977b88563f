"""The search space: one model per kind of hyperparameter, and each hyperparameter's role."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from ..shown import quote
from . import bounds
from .base import SpecModel
from .values import ScalarValue

HyperparameterRole = Literal["algorithm", "model"]
ChoiceValue = ScalarValue  # a string, number or boolean, bounded in size


class InitialValues(SpecModel):
    """PBT/PB2: where a hyperparameter's starting values are drawn, inside its mutation range."""

    min: float | None = None
    max: float | None = None
    log: bool | None = Field(default=None, description="Default: the parameter's own.")
    values: list[ChoiceValue] | None = Field(
        default=None, max_length=bounds.MAX_CHOICES,
        description="Starting values to draw from, instead of a min..max range.")

    @model_validator(mode="after")
    def _range_or_values(self) -> InitialValues:
        ranged = self.min is not None or self.max is not None
        if self.values is not None and (ranged or self.log is not None):
            raise ValueError("give either values or a min..max range, not both")
        if self.values is not None and not self.values:
            raise ValueError("values needs at least one value")
        if self.values is None and (self.min is None or self.max is None):
            raise ValueError("give values, or both min and max")
        if self.values is None:
            _check_numeric_range(self.min, self.max, bool(self.log))  # type: ignore[arg-type]
        return self


PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
ParamName = Annotated[str, Field(max_length=bounds.MAX_NAME_LENGTH, pattern=PARAM_NAME_PATTERN)]


class Condition(SpecModel):
    """A conditional parameter: searched, and in the trial's config, only when ``param`` (a
    choice of the search space) took one of ``values``."""

    param: ParamName
    values: list[ChoiceValue] = Field(min_length=1, max_length=bounds.MAX_CHOICES)


class _Param(SpecModel):
    role: HyperparameterRole | None = Field(
        default=None,
        description=(
            "algorithm (learning process: lr, batch size, momentum...) or model (architecture). "
            "Inferred from the name when absent; PBT may mutate algorithm hyperparameters only."
        ),
    )
    mutate: bool = Field(
        default=True,
        description="PBT/PB2: whether explore changes this hyperparameter; false keeps the value "
        "a trial starts with (an exploit still copies the better trial's value with its weights).")
    initial: InitialValues | None = Field(
        default=None,
        description="PBT/PB2: where starting values are drawn (default: the whole range, which "
        "stays the range that explore moves the value in).")
    when: Condition | None = Field(
        default=None, description="Search this parameter only when another takes given values "
        "(searchers optuna and bohb); the trial's config lacks it otherwise.")


_MAGNITUDE = bounds.MAX_PARAMETER_MAGNITUDE


class FloatParam(_Param):
    """A float range: Tune's uniform, loguniform, quniform or qloguniform."""

    type: Literal["float"]
    min: float = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    max: float = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    log: bool = False
    q: float | None = Field(
        default=None, gt=0, le=_MAGNITUDE,
        description="Quantisation: values are multiples of q (min and max must be too).")

    @model_validator(mode="after")
    def _check_range(self) -> FloatParam:
        _check_numeric_range(self.min, self.max, self.log)
        _check_multiples(self.min, self.max, self.q)
        return self


class IntParam(_Param):
    """An int range, both bounds included: Tune's randint, lograndint, qrandint or qlograndint."""

    type: Literal["int"]
    min: int = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    max: int = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    log: bool = False
    q: int | None = Field(
        default=None, ge=1, le=_MAGNITUDE,
        description="Quantisation: values are multiples of q (min and max must be too).")

    @model_validator(mode="after")
    def _check_range(self) -> IntParam:
        _check_numeric_range(self.min, self.max, self.log)
        _check_multiples(self.min, self.max, self.q)
        return self

    @property
    def quantised(self) -> bool:
        """q = 1 is every integer: a plain randint."""
        return self.q is not None and self.q > 1


class NormalParam(_Param):
    """A normally distributed float: Tune's randn, or qrandn with q."""

    type: Literal["normal"]
    mean: float = Field(default=0.0, ge=-_MAGNITUDE, le=_MAGNITUDE)
    sd: float = Field(default=1.0, gt=0, le=_MAGNITUDE)
    q: float | None = Field(default=None, gt=0, le=_MAGNITUDE,
                            description="Quantisation: values are multiples of q.")


def _unique(values: list[ChoiceValue], what: str) -> list[ChoiceValue]:
    if not values:
        raise ValueError(f"a {what} needs at least one value")
    seen: list[ChoiceValue] = []
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate value {quote(v)}")
        seen.append(v)
    return values


class ChoiceParam(_Param):
    """One of the values, drawn at random: Tune's choice."""

    type: Literal["choice"]
    values: list[ChoiceValue] = Field(max_length=bounds.MAX_CHOICES)

    @field_validator("values")
    @classmethod
    def _non_empty_unique(cls, values: list[ChoiceValue]) -> list[ChoiceValue]:
        return _unique(values, "choice")

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


class GridParam(_Param):
    """Every one of the values, each in its own trials: Tune's grid_search."""

    type: Literal["grid"]
    values: list[ChoiceValue] = Field(max_length=bounds.MAX_CHOICES)

    @field_validator("values")
    @classmethod
    def _non_empty_unique(cls, values: list[ChoiceValue]) -> list[ChoiceValue]:
        return _unique(values, "grid")


def _check_numeric_range(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"min and max must be finite, got min={low}, max={high}")
    if low >= high:
        raise ValueError(f"min must be less than max, got min={low}, max={high}")
    if log and low <= 0:
        raise ValueError(f"a log range needs min > 0, got min={low}")


def is_multiple(value: float, q: float) -> bool:
    """Whether ``value`` is a multiple of ``q``, up to float rounding (0.3 of 0.1 is)."""
    ratio = value / q
    return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, abs(ratio))


def _check_multiples(low: float, high: float, q: float | None) -> None:
    # Bounds on the grid keep every searcher's quantised values inside min..max, both included.
    if q is not None and not (is_multiple(low, q) and is_multiple(high, q)):
        raise ValueError(f"min and max must be multiples of q={q:g}, got min={low:g}, "
                         f"max={high:g}")


LeafParam = Annotated[Union[FloatParam, IntParam, NormalParam, ChoiceParam, GridParam],
                      Field(discriminator="type")]


class NestedParam(_Param):
    """A dict of parameters: the trial's config holds a dict under this name, as when a Tune
    ``param_space`` nests one. One level deep (the CRD schema has no recursion)."""

    type: Literal["nested"]
    params: dict[ParamName, LeafParam] = Field(min_length=1, max_length=bounds.MAX_PARAMETERS)


Param = Annotated[Union[FloatParam, IntParam, NormalParam, ChoiceParam, GridParam, NestedParam],
                  Field(discriminator="type")]


def leaves(space: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every searched value with its path, ``outer/inner`` for a nested one (Ray's spelling
    when it flattens a nested space for a searcher)."""
    for name, param in space.items():
        if isinstance(param, NestedParam):
            for inner, leaf in param.params.items():
                yield f"{name}/{inner}", leaf
        else:
            yield name, param

# Names that set the learning process, not the network: PBT may change these mid-training.
_ALGORITHM_WORDS = ("lr", "learning_rate", "momentum", "batch_size", "weight_decay", "beta",
                    "eps", "dropout", "gamma", "warmup", "clip", "temperature", "decay")
# Names that fix the architecture: exploit copies weights, so these must match across trials.
_MODEL_WORDS = ("layer", "embedding", "hidden", "width", "depth", "size", "units", "channel",
                "feat", "head", "kernel", "dim", "block", "filter", "neuron")


def infer_role(name: str, param: Param) -> HyperparameterRole | None:
    """The role of a hyperparameter: declared, or guessed from its name (None when unknown)."""
    if param.role is not None:
        return param.role
    key = name.lower()
    if any(key == w or key.startswith(w + "_") or key.endswith("_" + w) for w in _ALGORITHM_WORDS):
        return "algorithm"
    if any(w in key for w in _MODEL_WORDS):
        return "model"
    return None
