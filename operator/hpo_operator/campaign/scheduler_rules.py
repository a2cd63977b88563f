"""The rules of the strategy: scheduler settings against the budget, against the searcher and
against how Ray Tune creates trials. Part of :func:`.rules.check_spec`; no Ray.
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
    GridParam,
    GridSearcher,
    HyperBandScheduler,
    MedianStoppingScheduler,
    OptunaSearcher,
    Pb2Scheduler,
    PopulationScheduler,
    RandomSearcher,
    infer_role,
    leaves,
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


def total_trials(spec: CampaignSpec) -> int:
    """The trials Tune creates: ``budget.trials`` times the grid's size (its grid parameters,
    and its choices too for a grid search)."""
    enumerated = (ChoiceParam, GridParam) if isinstance(spec.strategy.searcher, GridSearcher) \
        else GridParam
    return spec.budget.trials * math.prod(len(p.values) for _, p in leaves(spec.search_space)
                                          if isinstance(p, enumerated))


def hyperband_trials_needed(max_t: int, eta: float, trials: int) -> int:
    """How many trials must exist together for synchronous HyperBand to halve full brackets.

    Ray Tune's HyperBandScheduler puts trials, in the order they are created, into brackets
    s = 0, 1, ... of ``ceil(s_max_1 / (s + 1) * eta**s)`` trials each (skipping those whose first
    rung ``int(max_t * eta**-s)`` is 0; a new band after ``s_max_1`` brackets). Bracket s > 0
    pauses its trials at each rung and halves once every *live* trial in it has reached the rung,
    so its trials must all exist by then: the answer is the position of the last trial placed in
    a bracket that halves (brackets s = 0 run their trials to maxT).
    """
    s_max_1 = int(round(math.log(max_t) / math.log(eta))) + 1
    placed = needed = 0
    s = 0
    while placed < trials:
        if s == s_max_1:  # the band is full: a new one starts at s = 0
            s = 0
        if int(max_t * eta ** (-s)) > 0:
            placed = min(trials, placed + math.ceil(s_max_1 / (s + 1) * eta ** s))
            if s > 0:
                needed = placed
        s += 1
    return needed


def scheduler_problems(spec: CampaignSpec) -> list[Problem]:
    return [*_pbt_rules(spec), *_scheduler_budget_rules(spec), *_strategy_rules(spec),
            *_concurrency_rules(spec)]


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


_LAZY = ("Ray Tune creates trials only as budget.maxConcurrentTrials allows and counts paused "
         "trials against it")
_INSTEAD = "or leave budget.maxConcurrentTrials out and limit parallelism with spec.resources.perTrial"


def _concurrency_rules(spec: CampaignSpec) -> list[Problem]:
    """Schedulers that pause trials to compare them need those trials to exist together."""
    cap, scheduler = spec.budget.max_concurrent_trials, spec.strategy.scheduler
    if cap is None:
        return []
    trials = total_trials(spec)
    if isinstance(scheduler, PopulationScheduler) and cap < trials:
        kind = "PB2" if isinstance(scheduler, Pb2Scheduler) else "PBT"
        return [Problem(
            "spec.budget.maxConcurrentTrials",
            f"{kind} needs its whole population ({trials} trials, spec.budget.trials) at once: "
            f"{_LAZY}, so a cap of {cap} splits the population into batches that never exploit "
            f"each other. Set budget.maxConcurrentTrials to at least {trials}, {_INSTEAD}", cap)]
    # HyperBand for BOHB tells its searcher about pauses, which then frees their places.
    if type(scheduler) is HyperBandScheduler:
        needed = hyperband_trials_needed(scheduler.max_t, scheduler.reduction_factor, trials)
        if cap < needed:
            return [Problem(
                "spec.budget.maxConcurrentTrials",
                "synchronous HyperBand halves a bracket once every trial in it has reached the "
                f"rung, and {_LAZY}: with a cap of {cap}, brackets halve before their trials "
                f"exist and stop few or none. With maxT {scheduler.max_t}, reductionFactor "
                f"{scheduler.reduction_factor:g} and {trials} trials, the brackets that halve "
                f"hold the first {needed} trials: set budget.maxConcurrentTrials to at least "
                f"{needed}, {_INSTEAD}", cap)]
    return []
