"""Translating a campaign's search space into Ray Tune domains."""

from __future__ import annotations

from typing import Any

from .spec import (
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    GridSearcher,
    IntParam,
    Param,
    PopulationScheduler,
)


def tune_domain(param: Param) -> Any:
    """The Ray Tune sampling domain of one hyperparameter (integer bounds are inclusive)."""
    from ray import tune

    if isinstance(param, FloatParam):
        return (tune.loguniform if param.log else tune.uniform)(param.min, param.max)
    if isinstance(param, IntParam):
        # Tune's randint excludes its upper bound; ours includes it.
        return (tune.lograndint if param.log else tune.randint)(param.min, param.max + 1)
    if isinstance(param, ChoiceParam):
        return tune.choice(list(param.values))
    raise TypeError(f"unknown hyperparameter type {type(param).__name__}")


def starting_domain(param: Param) -> Any:
    """Where PBT/PB2 draw a trial's first value: ``initial`` when given, else the whole range."""
    from ray import tune

    initial = param.initial
    if initial is None:
        return tune_domain(param)
    if initial.values is not None:
        return tune.choice(list(initial.values))
    assert isinstance(param, (FloatParam, IntParam)) and initial.min is not None
    kind = int if isinstance(param, IntParam) else float
    log = param.log if initial.log is None else initial.log
    return tune_domain(param.model_copy(update={"min": kind(initial.min),
                                                "max": kind(initial.max), "log": log}))


def param_space(spec: CampaignSpec) -> dict[str, Any]:
    """Tune's ``param_space``: searched domains plus the trainable's fixed config."""
    from ray import tune

    grid = isinstance(spec.strategy.searcher, GridSearcher)
    population = isinstance(spec.strategy.scheduler, PopulationScheduler)
    space: dict[str, Any] = dict(spec.trainable.config)
    for name, param in spec.search_space.items():
        if grid and isinstance(param, ChoiceParam):
            space[name] = tune.grid_search(list(param.values))
        elif population:
            space[name] = starting_domain(param)
        else:
            space[name] = tune_domain(param)
    return space
