"""Conditional parameters (``when``): searched only when a choice took given values.

Tune's domains cannot say this, so the searchers that can are given a space of our own: Optuna a
define-by-run function (a parameter is suggested only when its condition holds), BOHB a
ConfigSpace with an ``InCondition`` per conditional parameter. Then the Tuner's ``param_space``
holds the fixed config only. A trial whose condition fails gets no value for the parameter: its
config lacks the key, as with Optuna or ConfigSpace used directly. Conditions name a top-level
choice that is not conditional itself, so one pass in declaration order, unconditional ones
first, settles every parameter. Other searchers refuse ``when`` (validation).
"""

from __future__ import annotations

from typing import Any

from .problem import Problem
from .spec import (
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    IntParam,
    NestedParam,
    Param,
    leaves,
)

CONDITIONAL_SEARCHERS = ("optuna", "bohb")


def conditional(spec: CampaignSpec) -> bool:
    """Whether the searcher gets our own conditional space instead of Tune's domains."""
    return spec.strategy.searcher.type in CONDITIONAL_SEARCHERS and any(
        p.when is not None for p in spec.search_space.values())


def matches(value: Any, values: list[Any]) -> bool:
    """``value`` is one of ``values``; ``True`` is not ``1`` here, unlike in Python."""
    return any(v == value and isinstance(v, bool) == isinstance(value, bool) for v in values)


def condition_problems(spec: CampaignSpec) -> list[Problem]:
    problems: list[Problem] = []
    searcher = spec.strategy.searcher.type
    for name, param in spec.search_space.items():
        if isinstance(param, NestedParam):
            problems += [Problem(f"spec.searchSpace.{name}.params.{inner}.when",
                                 "conditions apply to top-level parameters: put when on the "
                                 "nested parameter")
                         for inner, leaf in param.params.items() if leaf.when is not None]
        if param.when is None:
            continue
        path = f"spec.searchSpace.{name}.when"
        if searcher not in CONDITIONAL_SEARCHERS:
            problems.append(Problem(path, f"searcher {searcher} cannot search a conditional "
                                    "parameter: use searcher optuna or bohb"))
        problems += _parent_problems(spec, path, param.when.param, param.when.values)
    return problems


def _parent_problems(spec: CampaignSpec, path: str, parent_name: str,
                     values: list[Any]) -> list[Problem]:
    parent = spec.search_space.get(parent_name)
    if parent is None:
        return [Problem(f"{path}.param", "is not a parameter of spec.searchSpace", parent_name)]
    if not isinstance(parent, ChoiceParam):
        return [Problem(f"{path}.param", f"must name a choice parameter, not a {parent.type}",
                        parent_name)]
    if parent.when is not None:
        return [Problem(f"{path}.param", "names a conditional parameter: conditions do not "
                        "chain", parent_name)]
    return [Problem(f"{path}.values[{i}]", f"is not one of {parent_name}'s values", v)
            for i, v in enumerate(values) if not matches(v, parent.values)]


def _ordered(space: dict[str, Param]) -> list[tuple[str, Param]]:
    return sorted(space.items(), key=lambda item: item[1].when is not None)


class OptunaSpace:
    """Optuna's define-by-run space (a class, so that the searcher pickles)."""

    def __init__(self, spec: CampaignSpec) -> None:
        self.space = dict(spec.search_space)

    def __call__(self, trial: Any) -> None:
        taken: dict[str, Any] = {}
        for name, param in _ordered(self.space):
            when = param.when
            if when is not None and not matches(taken.get(when.param), when.values):
                continue
            if isinstance(param, NestedParam):  # Ray nests "outer/inner" back into a dict
                for inner, leaf in param.params.items():
                    _suggest(trial, f"{name}/{inner}", leaf)
            else:
                taken[name] = _suggest(trial, name, param)


def _suggest(trial: Any, name: str, param: Param) -> Any:
    """The domains Optuna takes (validation refuses the others), as Ray's conversion has them."""
    if isinstance(param, FloatParam):
        return trial.suggest_float(name, param.min, param.max, log=param.log, step=param.q)
    if isinstance(param, IntParam):
        return trial.suggest_int(name, param.min, param.max, step=param.q or 1, log=param.log)
    assert isinstance(param, ChoiceParam)
    return trial.suggest_categorical(name, list(param.values))


def bohb_space(spec: CampaignSpec, seed: int | None) -> Any:
    """TuneBOHB's ConfigSpace, with an InCondition per conditional parameter."""
    import ConfigSpace as CS

    space = CS.ConfigurationSpace(seed=seed)
    hyperparameters = {name: _hyperparameter(CS, name, leaf)
                       for name, leaf in leaves(spec.search_space)}
    space.add(list(hyperparameters.values()))
    for name, param in spec.search_space.items():
        if param.when is None:
            continue
        parent = hyperparameters[param.when.param]
        for path, hyperparameter in hyperparameters.items():
            if path == name or path.startswith(name + "/"):
                space.add(CS.InCondition(hyperparameter, parent, list(param.when.values)))
    return space


def _hyperparameter(CS: Any, name: str, param: Param) -> Any:
    if isinstance(param, FloatParam):
        return CS.UniformFloatHyperparameter(name, lower=param.min, upper=param.max,
                                             log=param.log)
    if isinstance(param, IntParam):
        return CS.UniformIntegerHyperparameter(name, lower=param.min, upper=param.max,
                                               log=param.log)
    assert isinstance(param, ChoiceParam)
    return CS.CategoricalHyperparameter(name, choices=list(param.values))
