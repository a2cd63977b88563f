"""Which searcher and population scheduler can express which kind of hyperparameter.

Ray Tune's searchers convert its domains to their libraries' own, and some conversions drop what
they cannot express with a warning (BOHB and Nevergrad drop quantisation, Optuna drops it from a
log range). A campaign gets what its manifest says or a refusal naming the searcher: this table
is the one place that says what each accepts, read by validation and the README's table.
"""

from __future__ import annotations

from collections.abc import Iterator

from .problem import Problem
from .spec import (
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    GridParam,
    GridSearcher,
    IntParam,
    NestedParam,
    NormalParam,
    Param,
    Pb2Scheduler,
    PopulationScheduler,
)

# The kinds of hyperparameter some searcher cannot take (every other kind, every searcher takes).
Q_FLOAT = "a quantised float (q)"
Q_LOG_FLOAT = "a quantised log float (q with log)"
Q_INT = "a quantised int (q above 1)"
Q_LOG_INT = "a quantised log int (q above 1 with log)"
QUANTISED = (Q_FLOAT, Q_LOG_FLOAT, Q_INT, Q_LOG_INT)
NORMAL = "a normal"
GRID = "a grid"
NESTED = "a nested parameter"


def _all(kinds: tuple[str, ...], why: str) -> dict[str, str]:
    return dict.fromkeys(kinds, why)


_WHY: dict[str, dict[str, str]] = {
    "optuna": {NORMAL: "Optuna has no normal distribution",
               **_all((Q_LOG_FLOAT, Q_LOG_INT), "Optuna cannot step a log range")},
    "bohb": {NORMAL: "ConfigSpace needs bounds for a normal",
             **_all(QUANTISED, "TuneBOHB drops q")},
    "dragonfly": {NORMAL: "Dragonfly's domains are bounded",
                  NESTED: "our Dragonfly domain is flat"},
    "hyperopt": {},
    "nevergrad": {NORMAL: "Nevergrad's parameters here are bounded",
                  **_all(QUANTISED, "Nevergrad drops q")},
    "pb2": {NORMAL: "PB2's bandit needs bounds", NESTED: "PB2's bounds are flat",
            **_all(QUANTISED, "PB2's bandit proposes any value in the bounds")},
    "pbt": {NESTED: "our PBT mutations are flat"},
}
# A grid is enumerated by Tune's own generator only: no model-based searcher takes one.
for _who in ("optuna", "bohb", "dragonfly", "hyperopt", "nevergrad", "pbt", "pb2"):
    _WHY[_who][GRID] = "only the random and grid searchers enumerate a grid"


def kinds(param: Param) -> Iterator[str]:
    """The kinds of ``param`` that some searcher cannot take."""
    if isinstance(param, NestedParam):
        yield NESTED
        for inner in param.params.values():
            yield from kinds(inner)
    elif isinstance(param, GridParam):
        yield GRID
    elif isinstance(param, NormalParam):
        yield NORMAL
    elif isinstance(param, FloatParam) and param.q is not None:
        yield Q_LOG_FLOAT if param.log else Q_FLOAT
    elif isinstance(param, IntParam) and param.quantised:
        yield Q_LOG_INT if param.log else Q_INT


def unsupported(who: str, param: Param) -> dict[str, str]:
    """The kinds of ``param`` that searcher or scheduler ``who`` cannot take, with the reason."""
    why = _WHY.get(who, {})
    return {kind: why[kind] for kind in kinds(param) if kind in why}


def domain_problems(spec: CampaignSpec) -> list[Problem]:
    searcher = spec.strategy.searcher
    scheduler = spec.strategy.scheduler
    problems: list[Problem] = []
    for name, param in spec.search_space.items():
        path = f"spec.searchSpace.{name}"
        if isinstance(searcher, GridSearcher):
            problems += _grid_searcher(path, param)
        for kind, why in unsupported(searcher.type, param).items():
            problems.append(Problem(f"{path}.type", f"searcher {searcher.type} cannot take "
                                    f"{kind} ({why})", param.type))
        if isinstance(scheduler, PopulationScheduler) and (
                param.mutate or not isinstance(scheduler, Pb2Scheduler)):
            for kind, why in unsupported(scheduler.type, param).items():
                problems.append(Problem(f"{path}.type", f"scheduler {scheduler.type} cannot "
                                        f"mutate {kind} ({why})", param.type))
    return problems


def _grid_searcher(path: str, param: Param) -> list[Problem]:
    """A grid search enumerates values; nested parameters of values are enumerated too."""
    if isinstance(param, NestedParam):
        return [p for name, inner in param.params.items()
                for p in _grid_searcher(f"{path}.params.{name}", inner)]
    if isinstance(param, (ChoiceParam, GridParam)):
        return []
    return [Problem(f"{path}.type", "a grid search enumerates values: use type: choice or grid "
                    "with the values to try", param.type)]
