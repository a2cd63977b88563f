"""Rules that span sections of a campaign spec, each reported with the field path it concerns.

The spec model checks shapes and single fields; these checks need the whole spec. They return
every problem at once instead of stopping at the first, so a user fixes a manifest in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .shown import quote
from .spec import (
    AshaScheduler,
    BohbScheduler,
    BohbSearcher,
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    GridSearcher,
    HyperBandScheduler,
    IntParam,
    MedianStoppingScheduler,
    OptunaSearcher,
    Param,
    Pb2Scheduler,
    PopulationScheduler,
    RandomSearcher,
    infer_role,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where, what value, and why."""

    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (got {quote(self.value)})"
        return f"{self.path}: {self.message}{shown}"


def max_iterations(spec: CampaignSpec) -> int | None:
    """The iteration at which every trial stops: the budget's cap, else the scheduler's maxT."""
    if spec.budget.max_iterations_per_trial is not None:
        return spec.budget.max_iterations_per_trial
    scheduler = spec.strategy.scheduler
    if isinstance(scheduler, (AshaScheduler, HyperBandScheduler)):
        return scheduler.max_t
    return None


def check_spec(spec: CampaignSpec) -> list[Problem]:
    return [
        *_grid_rules(spec),
        *_pbt_rules(spec),
        *_scheduler_budget_rules(spec),
        *_strategy_rules(spec),
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


def _pbt_rules(spec: CampaignSpec) -> list[Problem]:
    """PBT and PB2 copy weights between trials: only algorithm hyperparameters may differ."""
    scheduler = spec.strategy.scheduler
    if not isinstance(scheduler, PopulationScheduler):
        return []
    kind = "PB2" if isinstance(scheduler, Pb2Scheduler) else "PBT"
    problems: list[Problem] = []
    for name, param in spec.search_space.items():
        role = infer_role(name, param)
        if role == "model":
            problems.append(Problem(
                f"spec.searchSpace.{name}",
                f"{kind} may mutate algorithm hyperparameters only: this one sets the model "
                f"architecture, and {kind}'s exploit step copies a better trial's weights into the "
                "worker, which needs the same architecture in every trial. Fix its value in "
                "spec.trainable.config, or tune it with asha instead",
            ))
        elif role is None:
            problems.append(Problem(
                f"spec.searchSpace.{name}.role",
                f"{kind} may mutate algorithm hyperparameters only, and this name does not say "
                "which kind it is: set role: algorithm if it only affects the learning process "
                "(learning rate, momentum, batch size), or move it to spec.trainable.config",
            ))
        if kind == "PB2" and isinstance(param, ChoiceParam):
            problems.append(Problem(
                f"spec.searchSpace.{name}.type",
                "PB2 explores numeric bounds with a Gaussian-process bandit: use a float or int "
                "range (or pbt, which also mutates choices)", param.type))
    if not isinstance(spec.strategy.searcher, RandomSearcher):
        problems.append(Problem("spec.strategy.searcher.type",
                                f"{kind} explores by itself; use searcher type random",
                                spec.strategy.searcher.type))
    if spec.budget.trials < 2:
        problems.append(Problem("spec.budget.trials",
                                f"{kind} needs a population of at least 2 trials",
                                spec.budget.trials))
    limit = max_iterations(spec)
    if limit is not None and scheduler.perturbation_interval >= limit:
        problems.append(Problem(
            "spec.strategy.scheduler.perturbationInterval",
            f"must be below the iteration limit ({limit}), or {kind} never exploits",
            scheduler.perturbation_interval))
    return problems


def _scheduler_budget_rules(spec: CampaignSpec) -> list[Problem]:
    scheduler = spec.strategy.scheduler
    problems: list[Problem] = []
    cap = spec.budget.max_iterations_per_trial
    if isinstance(scheduler, AshaScheduler) and scheduler.grace_period > scheduler.max_t:
        problems.append(Problem("spec.strategy.scheduler.gracePeriod",
                                f"must not exceed maxT ({scheduler.max_t})", scheduler.grace_period))
    if isinstance(scheduler, (AshaScheduler, HyperBandScheduler)) and cap is not None \
            and scheduler.max_t > cap:
        problems.append(Problem(
            "spec.strategy.scheduler.maxT",
            f"exceeds spec.budget.maxIterationsPerTrial ({cap}): rungs above it are never reached",
            scheduler.max_t))
    if max_iterations(spec) is None and spec.budget.time_limit is None:
        problems.append(Problem(
            "spec.budget.maxIterationsPerTrial",
            f"a {scheduler.type} campaign needs an iteration limit per trial or a "
            "spec.budget.timeLimit, or trials may never end"))
    return problems


def _strategy_rules(spec: CampaignSpec) -> list[Problem]:
    """Scheduler and searcher settings that only make sense together, or with the budget."""
    scheduler, searcher = spec.strategy.scheduler, spec.strategy.searcher
    problems: list[Problem] = []
    if isinstance(searcher, BohbSearcher) and not isinstance(scheduler, BohbScheduler):
        problems.append(Problem(
            "spec.strategy.scheduler.type",
            "searcher type bohb needs scheduler type bohb (HyperBand for BOHB, whose brackets "
            "give the model its budgets); leave the scheduler out to get it", scheduler.type))
    if isinstance(scheduler, BohbScheduler) and not isinstance(searcher, BohbSearcher):
        problems.append(Problem(
            "spec.strategy.searcher.type",
            "scheduler type bohb works with searcher type bohb only; for HyperBand with another "
            "searcher use scheduler type hyperband", searcher.type))
    limit = max_iterations(spec)
    if isinstance(scheduler, AshaScheduler) and scheduler.grace_period <= scheduler.max_t:
        g, eta, top = scheduler.grace_period, scheduler.reduction_factor, scheduler.max_t
        useful = sum(1 for s in range(scheduler.brackets) if g * eta ** s < top)
        if useful == 0:
            problems.append(Problem(
                "spec.strategy.scheduler.gracePeriod",
                f"must be below maxT ({top}), or no trial is ever stopped early", g))
        elif useful < scheduler.brackets:
            problems.append(Problem(
                "spec.strategy.scheduler.brackets",
                f"only {useful} bracket(s) have a rung below maxT ({top}) with gracePeriod {g} "
                f"and reductionFactor {eta:g}: the others would run every trial to maxT",
                scheduler.brackets))
    if isinstance(scheduler, HyperBandScheduler) and scheduler.max_t < scheduler.reduction_factor:
        problems.append(Problem(
            "spec.strategy.scheduler.maxT",
            f"must be at least reductionFactor ({scheduler.reduction_factor:g}), or HyperBand "
            "has a single rung and stops nothing", scheduler.max_t))
    if isinstance(scheduler, MedianStoppingScheduler):
        if limit is not None and scheduler.grace_period >= limit:
            problems.append(Problem(
                "spec.strategy.scheduler.gracePeriod",
                f"must be below the iteration limit ({limit}), or no trial is ever stopped",
                scheduler.grace_period))
        if scheduler.min_samples_required > spec.budget.trials:
            problems.append(Problem(
                "spec.strategy.scheduler.minSamplesRequired",
                f"exceeds spec.budget.trials ({spec.budget.trials}): the rule never has enough "
                "trials to compare", scheduler.min_samples_required))
    if isinstance(searcher, OptunaSearcher) and searcher.n_startup_trials is not None \
            and searcher.n_startup_trials >= spec.budget.trials:
        problems.append(Problem(
            "spec.strategy.searcher.nStartupTrials",
            f"must be below spec.budget.trials ({spec.budget.trials}), or the sampler never "
            "leaves its random start-up phase", searcher.n_startup_trials))
    points = getattr(searcher, "points_to_evaluate", [])
    if len(points) > spec.budget.trials:
        problems.append(Problem(
            "spec.strategy.searcher.pointsToEvaluate",
            f"lists {len(points)} points but spec.budget.trials is {spec.budget.trials}: "
            "the extra points would never run"))
    return problems


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
