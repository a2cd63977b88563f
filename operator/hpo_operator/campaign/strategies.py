"""Scheduler and searcher factories: a campaign's strategy as Ray Tune objects.

Searchers and schedulers get the metric and mode from ``TuneConfig``, so they are built without.
"""

from __future__ import annotations

from typing import Any

from .rules import max_iterations
from .searchspace import tune_domain
from .spec import (
    AshaScheduler,
    AsyncHyperBandScheduler,
    CampaignSpec,
    ChoiceParam,
    FifoScheduler,
    GridSearcher,
    HyperBandScheduler,
    MedianStoppingScheduler,
    PbtScheduler,
    RandomSearcher,
)

TIME_ATTR = "training_iteration"


def make_scheduler(spec: CampaignSpec) -> Any:
    from ray.tune import schedulers

    s = spec.strategy.scheduler
    if isinstance(s, FifoScheduler):
        return schedulers.FIFOScheduler()
    if isinstance(s, (AshaScheduler, AsyncHyperBandScheduler)):
        return schedulers.AsyncHyperBandScheduler(
            time_attr=TIME_ATTR, max_t=s.max_t, grace_period=s.grace_period,
            reduction_factor=s.reduction_factor, brackets=s.brackets)
    if isinstance(s, HyperBandScheduler):
        return schedulers.HyperBandScheduler(
            time_attr=TIME_ATTR, max_t=s.max_t, reduction_factor=s.reduction_factor)
    if isinstance(s, MedianStoppingScheduler):
        return schedulers.MedianStoppingRule(
            time_attr=TIME_ATTR, grace_period=s.grace_period,
            min_samples_required=s.min_samples_required)
    if isinstance(s, PbtScheduler):
        return schedulers.PopulationBasedTraining(
            time_attr=TIME_ATTR, perturbation_interval=s.perturbation_interval,
            hyperparam_mutations=pbt_mutations(spec), quantile_fraction=s.quantile_fraction,
            resample_probability=s.resample_probability)
    raise TypeError(f"unknown scheduler {s.type!r}")


def pbt_mutations(spec: CampaignSpec) -> dict[str, Any]:
    """What PBT may change: every searched hyperparameter (validation allows algorithm ones only)."""
    return {name: list(p.values) if isinstance(p, ChoiceParam) else tune_domain(p)
            for name, p in spec.search_space.items()}


def make_searcher(spec: CampaignSpec) -> Any | None:
    """The search algorithm, or None for Tune's own random/grid generator."""
    s = spec.strategy.searcher
    if isinstance(s, GridSearcher):
        return None
    if isinstance(s, RandomSearcher):
        if not s.points_to_evaluate and s.seed is None:
            return None
        from ray.tune.search import BasicVariantGenerator

        # Tune ignores max_concurrent_trials for a generator instance: pass it here.
        return BasicVariantGenerator(points_to_evaluate=list(s.points_to_evaluate) or None,
                                     random_state=s.seed,
                                     max_concurrent=spec.budget.max_concurrent_trials or 0)
    raise TypeError(f"unknown searcher {s.type!r}")


def scheduler_needs_checkpoints(spec: CampaignSpec) -> bool:
    """PBT moves weights between trials, and synchronous HyperBand pauses and resumes them."""
    return isinstance(spec.strategy.scheduler, (PbtScheduler, HyperBandScheduler))


def checkpoint_frequency(spec: CampaignSpec) -> int:
    """The guide's minimal checkpointing: none unless asked for or the scheduler needs them."""
    if spec.checkpoint.frequency:
        return spec.checkpoint.frequency
    s = spec.strategy.scheduler
    if isinstance(s, PbtScheduler):
        return s.perturbation_interval
    return 0


def stop_criteria(spec: CampaignSpec) -> dict[str, int] | None:
    limit = max_iterations(spec)
    return None if limit is None else {TIME_ATTR: limit}
