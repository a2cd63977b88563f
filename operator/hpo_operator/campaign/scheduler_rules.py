"""The rules of the strategy: scheduler settings against the budget and against the searcher.
Part of :func:`.rules.check_spec`; no Ray.
"""

from __future__ import annotations

import math

from .problem import Problem
from .spec import (
    AshaScheduler,
    BohbScheduler,
    BohbSearcher,
    CampaignSpec,
    ChoiceParam,
    HyperBandScheduler,
    MedianStoppingScheduler,
    OptunaSearcher,
    Pb2Scheduler,
    PopulationScheduler,
    RandomSearcher,
    infer_role,
)
from .tune_names import TRAINING_ITERATION


def trial_limits(spec: CampaignSpec) -> dict[str, float]:
    """Per result key, the value at which every trial stops: the budget's iteration cap, and the
    maxT (in its timeAttr) of a scheduler that stops its last trials (ASHA, HyperBand)."""
    limits: dict[str, float] = {}
    if spec.budget.max_iterations_per_trial is not None:
        limits[TRAINING_ITERATION] = spec.budget.max_iterations_per_trial
    s = spec.strategy.scheduler
    if isinstance(s, (AshaScheduler, HyperBandScheduler)) and s.stop_last_trials:
        limits[s.time_attr] = min(limits.get(s.time_attr, math.inf), s.max_t)
    return limits


def scheduler_problems(spec: CampaignSpec) -> list[Problem]:
    return [*_pbt_rules(spec), *_scheduler_budget_rules(spec), *_strategy_rules(spec)]


def _limit_words(attr: str, limit: float) -> str:
    what = "the iteration limit" if attr == TRAINING_ITERATION else f"the limit of {attr}"
    return f"{what} ({limit:g})"


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
        if kind == "PB2" and isinstance(param, ChoiceParam) and param.mutate:
            problems.append(Problem(
                f"spec.searchSpace.{name}.type",
                "PB2 explores numeric bounds with a Gaussian-process bandit: use a float or int "
                "range, mutate: false (or pbt, which also mutates choices)", param.type))
    if not any(p.mutate for p in spec.search_space.values()):
        problems.append(Problem("spec.searchSpace",
                                f"{kind} needs at least one hyperparameter to mutate: every one "
                                "has mutate: false"))
    if not isinstance(spec.strategy.searcher, RandomSearcher):
        problems.append(Problem("spec.strategy.searcher.type",
                                f"{kind} explores by itself; use searcher type random",
                                spec.strategy.searcher.type))
    if spec.budget.trials < 2:
        problems.append(Problem("spec.budget.trials",
                                f"{kind} needs a population of at least 2 trials",
                                spec.budget.trials))
    limit = trial_limits(spec).get(scheduler.time_attr)
    if limit is not None and scheduler.perturbation_interval >= limit:
        problems.append(Problem(
            "spec.strategy.scheduler.perturbationInterval",
            f"must be below {_limit_words(scheduler.time_attr, limit)}, or {kind} never exploits",
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
            and scheduler.time_attr == TRAINING_ITERATION and scheduler.max_t > cap:
        problems.append(Problem(
            "spec.strategy.scheduler.maxT",
            f"exceeds spec.budget.maxIterationsPerTrial ({cap}): rungs above it are never reached",
            scheduler.max_t))
    if not trial_limits(spec) and spec.budget.time_limit is None:
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
    if isinstance(scheduler, AshaScheduler) and scheduler.grace_period <= scheduler.max_t:
        problems += _asha_brackets(scheduler)
    if isinstance(scheduler, HyperBandScheduler) and scheduler.max_t < scheduler.reduction_factor:
        problems.append(Problem(
            "spec.strategy.scheduler.maxT",
            f"must be at least reductionFactor ({scheduler.reduction_factor:g}), or HyperBand "
            "has a single rung and stops nothing", scheduler.max_t))
    if isinstance(scheduler, MedianStoppingScheduler):
        limit = trial_limits(spec).get(scheduler.time_attr)
        if limit is not None and scheduler.grace_period >= limit:
            problems.append(Problem(
                "spec.strategy.scheduler.gracePeriod",
                f"must be below {_limit_words(scheduler.time_attr, limit)}, or no trial is "
                "ever stopped", scheduler.grace_period))
        if scheduler.min_samples_required > spec.budget.trials:
            problems.append(Problem(
                "spec.strategy.scheduler.minSamplesRequired",
                f"exceeds spec.budget.trials ({spec.budget.trials}): the rule never has enough "
                "trials to compare", scheduler.min_samples_required))
    if isinstance(searcher, OptunaSearcher) and "n_startup_trials" in searcher.model_fields_set \
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


def _asha_brackets(scheduler: AshaScheduler) -> list[Problem]:
    g, eta, top = scheduler.grace_period, scheduler.reduction_factor, scheduler.max_t
    useful = sum(1 for s in range(scheduler.brackets) if g * eta ** s < top)
    if useful == 0:
        return [Problem("spec.strategy.scheduler.gracePeriod",
                        f"must be below maxT ({top}), or no trial is ever stopped early", g)]
    if useful < scheduler.brackets:
        return [Problem(
            "spec.strategy.scheduler.brackets",
            f"only {useful} bracket(s) have a rung below maxT ({top}) with gracePeriod {g} "
            f"and reductionFactor {eta:g}: the others would run every trial to maxT",
            scheduler.brackets)]
    return []
