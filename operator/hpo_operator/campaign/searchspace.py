"""Translating a campaign's search space into Ray Tune domains."""

from __future__ import annotations

from typing import Any

from .conditions import conditional
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
    PopulationScheduler,
)


def tune_domain(param: Param) -> Any:
    """The Ray Tune sampling domain of one hyperparameter (integer bounds are inclusive)."""
    from ray import tune

    if isinstance(param, FloatParam):
        if param.q is not None:
            return (tune.qloguniform if param.log else tune.quniform)(param.min, param.max,
                                                                      param.q)
        return (tune.loguniform if param.log else tune.uniform)(param.min, param.max)
    if isinstance(param, IntParam):
        if param.quantised:  # Tune's quantised ints include their upper bound
            return (tune.qlograndint if param.log else tune.qrandint)(param.min, param.max,
                                                                      param.q)
        # Tune's randint excludes its upper bound; ours includes it.
        return (tune.lograndint if param.log else tune.randint)(param.min, param.max + 1)
    if isinstance(param, NormalParam):
        if param.q is not None:
            return tune.qrandn(param.mean, param.sd, param.q)
        return tune.randn(param.mean, param.sd)
    if isinstance(param, ChoiceParam):
        return tune.choice(list(param.values))
    if isinstance(param, GridParam):
        return tune.grid_search(list(param.values))
    if isinstance(param, NestedParam):
        return {name: tune_domain(p) for name, p in param.params.items()}
    raise TypeError(f"unknown hyperparameter type {type(param).__name__}")


def tune_call(param: Param) -> Any:
    """The Ray Tune call :func:`tune_domain` makes, as text (``hpo validate --explain``)."""
    def call(name: str, *args: Any) -> str:
        return f"tune.{name}({', '.join(repr(a) for a in args)})"

    if isinstance(param, FloatParam):
        name = ("q" if param.q is not None else "") + ("loguniform" if param.log else "uniform")
        return call(name, param.min, param.max, *([param.q] if param.q is not None else []))
    if isinstance(param, IntParam):
        if param.quantised:
            return call("qlograndint" if param.log else "qrandint", param.min, param.max, param.q)
        return call("lograndint" if param.log else "randint", param.min, param.max + 1)
    if isinstance(param, NormalParam):
        return call("qrandn", param.mean, param.sd, param.q) if param.q is not None \
            else call("randn", param.mean, param.sd)
    if isinstance(param, (ChoiceParam, GridParam)):
        return call("choice" if isinstance(param, ChoiceParam) else "grid_search",
                    list(param.values))
    assert isinstance(param, NestedParam)
    return {name: tune_call(p) for name, p in param.params.items()}


def starting_domain(param: Param) -> Any:
    """Where PBT/PB2 draw a trial's first value: ``initial`` when given, else the whole range."""
    from ray import tune

    initial = param.initial
    if initial is None:
        return tune_domain(param)
    if initial.values is not None:
        return tune.choice(list(initial.values))
    assert initial.min is not None and initial.max is not None
    if isinstance(param, IntParam):
        return tune_domain(param.model_copy(update={
            "min": int(initial.min), "max": int(initial.max),
            "log": param.log if initial.log is None else initial.log}))
    log = getattr(param, "log", False) if initial.log is None else initial.log
    q = getattr(param, "q", None)  # starting values keep the parameter's quantisation
    return tune_domain(FloatParam(type="float", min=float(initial.min), max=float(initial.max),
                                  log=log, q=q))


def _grid_domain(param: Param) -> Any:
    """A grid search's value: every choice and grid value enumerated, nested ones too."""
    from ray import tune

    if isinstance(param, (ChoiceParam, GridParam)):
        return tune.grid_search(list(param.values))
    if isinstance(param, NestedParam):
        return {name: _grid_domain(p) for name, p in param.params.items()}
    return tune_domain(param)


def _hyperopt_domain(param: Param) -> Any:
    """Ray's HyperOpt conversion takes a quantised int's upper bound as exclusive, where Tune's
    qrandint includes it: one beyond keeps the declared max in HyperOpt's range."""
    from ray import tune

    if isinstance(param, IntParam) and param.quantised and not param.log:
        return tune.qrandint(param.min, param.max + 1, param.q)
    if isinstance(param, NestedParam):
        return {name: _hyperopt_domain(p) for name, p in param.params.items()}
    return tune_domain(param)


def param_space(spec: CampaignSpec) -> dict[str, Any]:
    """Tune's ``param_space``: searched domains plus the trainable's fixed config (the fixed
    config alone when the searcher has a conditional space of our own)."""
    grid = isinstance(spec.strategy.searcher, GridSearcher)
    population = isinstance(spec.strategy.scheduler, PopulationScheduler)
    space: dict[str, Any] = dict(spec.trainable.config)
    if conditional(spec):
        return space
    for name, param in spec.search_space.items():
        if grid:
            space[name] = _grid_domain(param)
        elif population:
            space[name] = starting_domain(param)
        elif spec.strategy.searcher.type == "hyperopt":
            space[name] = _hyperopt_domain(param)
        else:
            space[name] = tune_domain(param)
    return space
