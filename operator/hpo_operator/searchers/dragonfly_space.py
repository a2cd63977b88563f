"""Our search space as a Dragonfly domain, and Dragonfly's points back as trial configs.

Dragonfly handles int, float, discrete-numeric and discrete (categorical) variables together,
which is why the guide chose it. It has no log scale, so log ranges are searched in log space
(the GP then models the metric against log(lr), which is what makes a log range worth declaring)
and exponentiated on the way back. A log-scaled int is a float over [ln(min-1/2), ln(max+1/2)]
rounded back, so that every integer gets a fair share of the range. A quantised range (q) is
searched over the indices of its multiples of q: an int variable, or for a log range the same
log-spaced float as above over the indices, so that every value proposed is on the grid.

Dragonfly returns numpy scalars; configs handed to Tune hold plain Python values of the declared
type, and a choice returns the very value the manifest listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..campaign.spec import ChoiceParam, FloatParam, IntParam, Param
from ..campaign.spec.params import is_multiple


class _Dimension:
    """One searched hyperparameter: its Dragonfly variable and the two-way value mapping."""

    def __init__(self, name: str, param: Param) -> None:
        self.name = name
        self.param = param

    def variable(self, label: str) -> dict[str, Any]:
        p = self.param
        if isinstance(p, (FloatParam, IntParam)) and _step(p) is not None and not p.log:
            # A quantised range is an int over the indices of its multiples of q.
            return {"name": label, "type": "int", "min": round(p.min / p.q),
                    "max": round(p.max / p.q)}
        if isinstance(p, FloatParam):
            low, high = (math.log(p.min), math.log(p.max)) if p.log else (p.min, p.max)
            return {"name": label, "type": "float", "min": low, "max": high}
        if isinstance(p, IntParam):
            if p.log:  # over the indices of the multiples of q (q = 1: every integer)
                step = p.q if p.quantised else 1
                low, high = math.log(p.min / step - 0.5), math.log(p.max / step + 0.5)
                return {"name": label, "type": "float", "min": low, "max": high}
            return {"name": label, "type": "int", "min": p.min, "max": p.max}
        if p.numeric:
            return {"name": label, "type": "discrete_numeric",
                    "items": [float(v) for v in p.values]}
        # Categorical: Dragonfly compares labels, so the values need not be strings.
        return {"name": label, "type": "discrete", "items": [f"v{i}" for i in range(len(p.values))]}

    def to_value(self, raw: Any) -> Any:
        """Dragonfly's value for this dimension as the config value Tune passes to the trial."""
        p = self.param
        if isinstance(p, FloatParam):
            if p.q is not None:
                index = round(math.exp(float(raw)) / p.q) if p.log else round(float(raw))
                return min(max(index * p.q, p.min), p.max)
            value = math.exp(float(raw)) if p.log else float(raw)
            return min(max(value, p.min), p.max)
        if isinstance(p, IntParam):
            # raw is the value's index among the multiples of q (its log for a log range).
            index = round(math.exp(float(raw))) if p.log else round(float(raw))
            return int(min(max(index * (p.q if p.quantised else 1), p.min), p.max))
        if p.numeric:
            x = float(raw)
            return min(p.values, key=lambda v: abs(float(v) - x))  # type: ignore[arg-type]
        return p.values[int(str(raw)[1:])]

    def to_raw(self, value: Any) -> Any:
        """The inverse of :meth:`to_value`, for configs Dragonfly did not propose itself."""
        p = self.param
        if isinstance(p, (FloatParam, IntParam)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name}: expected a number, got {value!r}")
            if not p.min <= value <= p.max:
                raise ValueError(f"{self.name}: {value!r} is outside [{p.min}, {p.max}]")
            if isinstance(p, IntParam) and value != int(value):
                raise ValueError(f"{self.name}: expected an integer, got {value!r}")
            step = _step(p)
            if step is not None and not is_multiple(value, step):
                raise ValueError(f"{self.name}: {value!r} is not a multiple of {step}")
            if p.log:
                return math.log(value / step if isinstance(p, IntParam) and step else value)
            if step is not None:
                return round(value / step)
            return int(value) if isinstance(p, IntParam) else float(value)
        index = _index_of(p, value, self.name)
        return float(p.values[index]) if p.numeric else f"v{index}"


def _step(param: FloatParam | IntParam) -> float | None:
    """The quantisation step of a range, None for none (an int's q = 1 is none)."""
    if isinstance(param, IntParam):
        return param.q if param.quantised else None
    return param.q


def _index_of(param: ChoiceParam, value: Any, name: str) -> int:
    """Position of ``value`` among the choices; ``True`` does not match ``1`` (nor vice versa)."""
    for i, v in enumerate(param.values):
        if v == value and isinstance(v, bool) == isinstance(value, bool):
            return i
    raise ValueError(f"{name}: {value!r} is not one of {list(param.values)}")


class DragonflySpace:
    """The mapping between a campaign's search space and a Dragonfly domain.

    Choices with a single value are constants: they go into every config but not to Dragonfly,
    whose GP cannot normalise a variable with no range.
    """

    def __init__(self, space: Mapping[str, Param]) -> None:
        if not space:
            raise ValueError("DragonflySearcher needs a non-empty search space")
        self.params: dict[str, Param] = dict(space)
        self.constants: dict[str, Any] = {
            n: p.values[0] for n, p in space.items()
            if isinstance(p, ChoiceParam) and len(p.values) == 1}
        self.dimensions = [_Dimension(n, p) for n, p in space.items() if n not in self.constants]
        if not self.dimensions:
            raise ValueError("DragonflySearcher needs at least one hyperparameter that varies")

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def domain_config(self) -> dict[str, Any]:
        """The argument of Dragonfly's ``load_config``. Variables are named by position so that
        any manifest name is safe; raw points come back in this order."""
        return {"name": "hpo", "domain": [d.variable(f"x{i}") for i, d in enumerate(self.dimensions)]}

    def to_config(self, raw_point: Sequence[Any]) -> dict[str, Any]:
        """A raw Dragonfly point (one value per variable, in domain order) as a trial config."""
        if len(raw_point) != len(self.dimensions):
            raise ValueError(f"expected {len(self.dimensions)} values, got {len(raw_point)}")
        searched = {d.name: d.to_value(_unwrap(r)) for d, r in zip(self.dimensions, raw_point)}
        return {n: searched[n] if n in searched else self.constants[n] for n in self.params}

    def to_raw(self, config: Mapping[str, Any]) -> list[Any]:
        """A complete config (a warm-start point, or an evaluated one) as a raw Dragonfly point."""
        missing = [n for n in self.params if n not in config]
        if missing:
            raise ValueError(f"config lacks hyperparameters {missing}")
        for name, value in self.constants.items():
            _index_of(self.params[name], config[name], name)  # type: ignore[arg-type]
        return [d.to_raw(config[d.name]) for d in self.dimensions]


def _unwrap(raw: Any) -> Any:
    """Dragonfly gives one-dimensional variables as scalars, but accept ``[x]`` too."""
    if isinstance(raw, (list, tuple)) and len(raw) == 1:
        return raw[0]
    return raw
