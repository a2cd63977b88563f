"""Rules that span sections of a campaign spec, each reported with the field path it concerns.

The spec model checks shapes and single fields; these checks need the whole spec. They return
every problem at once instead of stopping at the first, so a user fixes a manifest in one pass.
The strategy's rules are in :mod:`.scheduler_rules`.
"""

from __future__ import annotations

from typing import Any

from .conditions import condition_problems
from .domain_support import domain_problems
from .problem import Problem
from .scheduler_rules import scheduler_problems, total_trials, trial_limits
from .spec import (
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    GridParam,
    InitialValues,
    IntParam,
    NestedParam,
    NormalParam,
    Param,
    PopulationScheduler,
)
from .spec.params import is_multiple

__all__ = ["Problem", "check_spec", "total_trials", "trial_limits"]


def check_spec(spec: CampaignSpec) -> list[Problem]:
    return [
        *domain_problems(spec),
        *condition_problems(spec),
        *_population_field_rules(spec),
        *scheduler_problems(spec),
        *_stop_rules(spec),
        *_hour_budget_rules(spec),
        *_checkpoint_rules(spec),
        *_trainable_config_rules(spec),
        *_warm_start_rules(spec),
    ]


def _population_field_rules(spec: CampaignSpec) -> list[Problem]:
    """``initial`` and ``mutate`` are PBT/PB2 settings; starting values lie in the range."""
    population = isinstance(spec.strategy.scheduler, PopulationScheduler)
    problems: list[Problem] = []
    for name, param in spec.search_space.items():
        base = f"spec.searchSpace.{name}"
        # Only a value that would do something: a dumped manifest spells out the defaults.
        for field, value in (("initial", param.initial), ("mutate", param.mutate)):
            if not population and value not in (None, True):
                problems.append(Problem(
                    f"{base}.{field}", f"applies to schedulers pbt and pb2 only, not "
                    f"{spec.strategy.scheduler.type}", value if field == "mutate" else None))
        if population and param.initial is not None:
            problems += _initial_rules(f"{base}.initial", param, param.initial)
    return problems


def _initial_rules(path: str, param: Param, initial: InitialValues) -> list[Problem]:
    if initial.values is not None:
        return [Problem(f"{path}.values[{i}]", "is outside the parameter's range", v)
                for i, v in enumerate(initial.values) if not _within(param, v)]
    if isinstance(param, (ChoiceParam, GridParam, NestedParam)):
        return [Problem(path, f"a {param.type} starts from some of its values: give "
                        "initial.values" if param.type != "nested" else
                        "a nested parameter has no starting values of its own")]
    assert initial.min is not None and initial.max is not None
    ends = (("min", initial.min), ("max", initial.max))
    problems = [Problem(f"{path}.{end}", f"is outside the parameter's range "
                        f"[{param.min:g}, {param.max:g}]", value)
                for end, value in ends
                if not isinstance(param, NormalParam) and not param.min <= value <= param.max]
    if isinstance(param, IntParam):
        problems += [Problem(f"{path}.{end}", "must be an integer for an int parameter", value)
                     for end, value in ends if not float(value).is_integer()]
    if param.q is not None:
        problems += [Problem(f"{path}.{end}", f"must be a multiple of q={param.q:g}", value)
                     for end, value in ends if not is_multiple(value, param.q)]
    return problems


def _stop_rules(spec: CampaignSpec) -> list[Problem]:
    stop, objective = spec.budget.stop, spec.objective
    problems = [Problem(f"spec.budget.stop.thresholds[{i}].mode",
                        f"is required for a metric other than the objective's "
                        f"({objective.metric}): say whether lower or higher is better")
                for i, t in enumerate(stop.thresholds)
                if t.mode is None and t.metric != objective.metric]
    plateau = stop.plateau
    if plateau is not None and plateau.metric_threshold is not None and plateau.mode is None \
            and plateau.metric not in (None, objective.metric):
        problems.append(Problem("spec.budget.stop.plateau.mode",
                                "is required with metricThreshold for a metric other than the "
                                f"objective's ({objective.metric})"))
    if stop.at_target and objective.target is None:
        problems.append(Problem("spec.budget.stop.atTarget",
                                "needs spec.objective.target: the value that ends the campaign"))
    return problems


def _hour_budget_rules(spec: CampaignSpec) -> list[Problem]:
    if spec.budget.gpu_hours is not None and not spec.resources.per_trial.total().get("GPU"):
        return [Problem("spec.budget.gpuHours", "is never spent: trials request no GPU "
                        "(spec.resources.perTrial asks for none); budget cpuHours instead",
                        spec.budget.gpu_hours)]
    return []


def _checkpoint_rules(spec: CampaignSpec) -> list[Problem]:
    checkpoint = spec.checkpoint
    if checkpoint.score_order is not None and checkpoint.score_attribute is None:
        return [Problem("spec.checkpoint.scoreOrder",
                        "orders checkpoints by spec.checkpoint.scoreAttribute, which is not set",
                        checkpoint.score_order)]
    return []


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
    if isinstance(param, (ChoiceParam, GridParam)):
        return value in param.values
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or isinstance(param, NestedParam):  # a point's values are scalars
        return False
    if isinstance(param, IntParam) and not float(value).is_integer():
        return False
    if param.q is not None and not is_multiple(value, param.q):
        return False
    if isinstance(param, NormalParam):
        return True
    assert isinstance(param, (FloatParam, IntParam))
    return param.min <= value <= param.max
