"""The search space: one model per kind of hyperparameter, and each hyperparameter's role."""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

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


_MAGNITUDE = bounds.MAX_PARAMETER_MAGNITUDE


class FloatParam(_Param):
    type: Literal["float"]
    min: float = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    max: float = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    log: bool = False

    @model_validator(mode="after")
    def _check_range(self) -> FloatParam:
        _check_numeric_range(self.min, self.max, self.log)
        return self


class IntParam(_Param):
    type: Literal["int"]
    min: int = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    max: int = Field(ge=-_MAGNITUDE, le=_MAGNITUDE)
    log: bool = False

    @model_validator(mode="after")
    def _check_range(self) -> IntParam:
        _check_numeric_range(self.min, self.max, self.log)
        return self




class ChoiceParam(_Param):
    type: Literal["choice"]
    values: list[ChoiceValue] = Field(max_length=bounds.MAX_CHOICES)

    @field_validator("values")
    @classmethod
    def _non_empty_unique(cls, values: list[ChoiceValue]) -> list[ChoiceValue]:
        if not values:
            raise ValueError("a choice needs at least one value")
        seen: list[ChoiceValue] = []
        for v in values:
            if v in seen:
                raise ValueError(f"duplicate value {quote(v)}")
            seen.append(v)
        return values

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


def _check_numeric_range(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"min and max must be finite, got min={low}, max={high}")
    if low >= high:
        raise ValueError(f"min must be less than max, got min={low}, max={high}")
    if log and low <= 0:
        raise ValueError(f"a log range needs min > 0, got min={low}")


Param = Annotated[Union[FloatParam, IntParam, ChoiceParam], Field(discriminator="type")]

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
