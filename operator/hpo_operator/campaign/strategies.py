"""Scheduler and searcher factories: a campaign's strategy as Ray Tune objects.

Searchers and schedulers get the metric, the mode and (for searchers) the search space from
``TuneConfig``/``param_space``, so they are built without them: one translation of the space
(:mod:`.searchspace`) serves every searcher, and Tune wraps a ``Searcher`` in a
``ConcurrencyLimiter`` itself when ``max_concurrent_trials`` is set. Optional libraries (optuna,
hpbandster, scikit-learn, dragonfly) are imported only when their strategy is asked for. Searchers
of our own live above the core and are found through :mod:`.registry`.
"""

from __future__ import annotations

from typing import Any

from . import registry
from .rules import max_iterations
from .searchspace import tune_domain
from .spec import (
    AshaScheduler,
    BohbScheduler,
    BohbSearcher,
    CampaignSpec,
    ChoiceParam,
    FifoScheduler,
    FloatParam,
    GridSearcher,
    HyperBandScheduler,
    IntParam,
    MedianStoppingScheduler,
    OptunaSearcher,
    Pb2Scheduler,
    PbtScheduler,
    PopulationScheduler,
    RandomSearcher,
)
from .tune_names import TRAINING_ITERATION

TIME_ATTR = TRAINING_ITERATION  # Tune's default; the iteration cap counts it

# What to install for each optional strategy; the operator image installs none of them.
INSTALL = {
    "optuna": "pip install 'optuna>=4'",
    "gp": "pip install 'optuna>=4' torch (CPU build; the trainer extra has it)",
    "bohb": "pip install hpbandster ConfigSpace",
    "pb2": "pip install scikit-learn",
    "dragonfly": "the dragonfly extra of hpo-operator",
}


class StrategyUnavailable(RuntimeError):
    """A valid strategy whose library is not installed where the campaign runs."""


def _need(module: str, what: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise StrategyUnavailable(
            f"{what} needs the Python module {module!r}, which cannot be imported here "
            f"({exc}); install it with: {INSTALL.get(what.split()[-1], module)}") from None


# --------------------------------------------------------------------------- schedulers


def make_scheduler(spec: CampaignSpec) -> Any:
    from ray.tune import schedulers

    s = spec.strategy.scheduler
    if isinstance(s, FifoScheduler):
        return schedulers.FIFOScheduler()
    if isinstance(s, AshaScheduler):  # also async_hyperband, a subclass
        return schedulers.AsyncHyperBandScheduler(
            time_attr=TIME_ATTR, max_t=s.max_t, grace_period=s.grace_period,
            reduction_factor=s.reduction_factor, brackets=s.brackets)
    if isinstance(s, BohbScheduler):  # before HyperBandScheduler, its base class
        return schedulers.HyperBandForBOHB(
            time_attr=TIME_ATTR, max_t=s.max_t, reduction_factor=s.reduction_factor)
    if isinstance(s, HyperBandScheduler):
        return schedulers.HyperBandScheduler(
            time_attr=TIME_ATTR, max_t=s.max_t, reduction_factor=s.reduction_factor)
    if isinstance(s, MedianStoppingScheduler):
        return schedulers.MedianStoppingRule(
            time_attr=TIME_ATTR, grace_period=s.grace_period,
            min_samples_required=s.min_samples_required)
    if isinstance(s, PbtScheduler):
        from .lineage import LineagePBT

        # log_config=True: Tune's policy logs, and the exact lineage that schedule.py reads.
        return LineagePBT(
            time_attr=TIME_ATTR, perturbation_interval=s.perturbation_interval,
            hyperparam_mutations=pbt_mutations(spec), quantile_fraction=s.quantile_fraction,
            resample_probability=s.resample_probability,
            perturbation_factors=tuple(s.perturbation_factors),
            custom_explore_fn=ClipToSpace(spec), synch=s.synch, log_config=True,
            seed=population_seed(spec))
    if isinstance(s, Pb2Scheduler):
        _need("sklearn", "scheduler pb2")
        from .lineage import LineagePB2

        return LineagePB2(time_attr=TIME_ATTR, perturbation_interval=s.perturbation_interval,
                   hyperparam_bounds=pb2_bounds(spec), quantile_fraction=s.quantile_fraction,
                   synch=s.synch, log_config=True, seed=population_seed(spec))
    raise TypeError(f"unknown scheduler {s.type!r}")


def population_seed(spec: CampaignSpec) -> int | None:
    """PBT/PB2's own seed, else the searcher's: one seed makes a whole campaign repeatable."""
    s = spec.strategy.scheduler
    own = s.seed if isinstance(s, PopulationScheduler) else None
    return own if own is not None else getattr(spec.strategy.searcher, "seed", None)


def pbt_mutations(spec: CampaignSpec) -> dict[str, Any]:
    """What PBT may change: every searched hyperparameter (validation allows algorithm ones)."""
    return {name: list(p.values) if isinstance(p, ChoiceParam) else tune_domain(p)
            for name, p in spec.search_space.items()}


def pb2_bounds(spec: CampaignSpec) -> dict[str, list[float]]:
    """PB2's GP bandit works on numeric ranges (validation rejects choices for pb2)."""
    return {name: [p.min, p.max] for name, p in spec.search_space.items()
            if isinstance(p, (FloatParam, IntParam))}


class ClipToSpace:
    """PBT's explore multiplies numbers by a factor without bounds: keep them in the declared range.

    A class, not a closure, so the scheduler pickles with the experiment state.
    """

    def __init__(self, spec: CampaignSpec) -> None:
        self.bounds = {name: (p.min, p.max) for name, p in spec.search_space.items()
                       if isinstance(p, (FloatParam, IntParam))}

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        for name, (low, high) in self.bounds.items():
            if name in config and isinstance(config[name], (int, float)):
                config[name] = type(config[name])(min(max(config[name], low), high))
        return config


# --------------------------------------------------------------------------- searchers


def make_searcher(spec: CampaignSpec) -> Any | None:
    """The search algorithm, or None for Tune's own random/grid generator."""
    s = spec.strategy.searcher
    points = [dict(p) for p in getattr(s, "points_to_evaluate", [])] or None
    if isinstance(s, GridSearcher):
        return None
    if isinstance(s, RandomSearcher):
        if not points and s.seed is None:
            return None
        from ray.tune.search import BasicVariantGenerator

        # Tune ignores max_concurrent_trials for a generator instance: pass it here.
        return BasicVariantGenerator(points_to_evaluate=points, random_state=s.seed,
                                     max_concurrent=spec.budget.max_concurrent_trials or 0)
    if isinstance(s, OptunaSearcher):
        return _optuna(s, spec.budget.trials, points)
    if isinstance(s, BohbSearcher):
        _need("hpbandster", "searcher bohb")
        _need("ConfigSpace", "searcher bohb")
        from ray.tune.search.bohb import TuneBOHB

        return TuneBOHB(seed=s.seed, points_to_evaluate=points)
    return _registered(spec, s.type, points)


def _optuna(s: OptunaSearcher, trials: int, points: list[dict[str, Any]] | None) -> Any:
    _need("optuna", "searcher optuna")
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    startup = s.startup_trials(trials)
    if s.sampler == "gp":
        _need("torch", "sampler gp")
        sampler: Any = optuna.samplers.GPSampler(seed=s.seed, n_startup_trials=startup)
    else:
        # constant_liar: concurrent trials still running count as bad guesses, not as gaps,
        # so two trials started together are not given the same configuration.
        sampler = optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=startup,
                                             constant_liar=True)
    return OptunaSearch(sampler=sampler, points_to_evaluate=points)  # the seed is the sampler's


def _registered(spec: CampaignSpec, type_name: str, points: list[dict[str, Any]] | None) -> Any:
    """A searcher of a plugin (:mod:`.registry`): SearcherNotRegistered when none is loaded."""
    factory = registry.searcher_factory(type_name)
    try:
        return factory(spec, points)
    except ImportError as exc:  # the plugin's module, or its library, is not installed here
        raise StrategyUnavailable(
            f"searcher {type_name} cannot be loaded here ({exc}); install it with: "
            f"{INSTALL.get(type_name, 'its plugin')}") from None


# --------------------------------------------------------------------------- checkpoints & stops


def checkpoint_frequency(spec: CampaignSpec) -> int:
    """The guide's minimal checkpointing: none unless asked for.

    The schedulers that need checkpoints take them themselves, exactly when needed: PBT/PB2
    save the upper-quantile trials at each perturbation (the only checkpoints an exploit can
    copy), and HyperBand saves a trial when it pauses it. A periodic checkpoint on top would
    save every trial at every interval for nothing (and function trainables reject it).
    """
    return spec.checkpoint.frequency


# Ray warns below 3: an exploit restores the clone's checkpoint later, and a clone that saves
# again meanwhile must not have deleted it ("Could not recover from checkpoint...").
POPULATION_MIN_KEEP = 4


def checkpoints_to_keep(spec: CampaignSpec) -> int:
    """spec.checkpoint.keep, raised for PBT/PB2 so that exploits find the checkpoint they copy."""
    if isinstance(spec.strategy.scheduler, PopulationScheduler):
        return max(spec.checkpoint.keep, POPULATION_MIN_KEEP)
    return spec.checkpoint.keep


def stop_criteria(spec: CampaignSpec) -> dict[str, int] | None:
    limit = max_iterations(spec)
    return None if limit is None else {TIME_ATTR: limit}
