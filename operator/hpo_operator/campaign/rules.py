"""Rules that span sections of a campaign spec, each reported with the field path it concerns.

The spec model checks shapes and single fields; these checks need the whole spec. They return
every problem at once instead of stopping at the first, so a user fixes a manifest in one pass.
The strategy's rules are in :mod:`.scheduler_rules`.
"""

from __future__ import annotations

from typing import Any

from .problem import Problem
from .scheduler_rules import scheduler_problems, trial_limits
from .spec import (
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    GridSearcher,
    IntParam,
    Param,
)

__all__ = ["Problem", "check_spec", "trial_limits"]


def check_spec(spec: CampaignSpec) -> list[Problem]:
    return [
        *_grid_rules(spec),
        *scheduler_problems(spec),
        *_trainable_config_rules(spec),
        *_warm_start_rules(spec),
    ]


def _grid_rules(spec: CampaignSpec) -> list[Problem]:
    if not isinstance(spec.strategy.searcher, GridSearcher):
        return []
    return [
        Problem(f"spec.searchSpace.{name}.type",
                "a grid search enumerates values: use type: choice with the values to try", p.type)
        for name, p in spec.search_space.items()
        if not isinstance(p, ChoiceParam)
    ]


def _trainable_config_rules(spec: CampaignSpec) -> list[Problem]:
    return [
        Problem(f"spec.trainable.config.{key}",
                "is also in spec.searchSpace; a value is either fixed or searched, not both")
        for key in spec.trainable.config
        if key in spec.search_space
    ]


def _warm_start_rules(spec: CampaignSpec) -> list[Problem]:
    searcher = spec.strategy.searcher
    points = getattr(searcher, "points_to_evaluate", [])
    problems: list[Problem] = []
    for i, point in enumerate(points):
        base = f"spec.strategy.searcher.pointsToEvaluate[{i}]"
        for key in point.keys() - spec.search_space.keys():
            problems.append(Problem(f"{base}.{key}", "is not a hyperparameter in spec.searchSpace"))
        for key, param in spec.search_space.items():
            if key in point and not _within(param, point[key]):
                problems.append(Problem(f"{base}.{key}", "is outside the search space", point[key]))
    return problems


def _within(param: Param, value: Any) -> bool:
    if isinstance(param, ChoiceParam):
        return value in param.values
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(param, IntParam) and not float(value).is_integer():
        return False
    assert isinstance(param, (FloatParam, IntParam))
    return param.min <= value <= param.max
