"""Scheduler and searcher factories: a campaign's strategy as Ray Tune objects.

Searchers and schedulers get the metric, the mode and (for searchers) the search space from
``TuneConfig``/``param_space``, so they are built without them: one translation of the space
(:mod:`.searchspace`) serves every searcher, and Tune wraps a ``Searcher`` in a
``ConcurrencyLimiter`` itself when ``max_concurrent_trials`` is set. Optional libraries (optuna,
hpbandster, scikit-learn, dragonfly) are imported only when their strategy is asked for. Searchers
of our own live above the core and are found through :mod:`.registry`.
"""

from __future__ import annotations

import math
from typing import Any

from . import registry
from .conditions import OptunaSpace, bohb_space, conditional
from .searchspace import tune_domain
from .spec import (
    BohbSearcher,
    CampaignSpec,
    ChoiceParam,
    FloatParam,
    GridSearcher,
    HyperOptSearcher,
    IntParam,
    NevergradSearcher,
    NormalParam,
    OptunaSearcher,
    Pb2Scheduler,
    PbtScheduler,
    PopulationScheduler,
    RandomSearcher,
)
from .tune_names import TRAINING_ITERATION

# What to install for each optional strategy; the operator image installs none of them.
INSTALL = {
    "optuna": "pip install 'optuna>=4'",
    "gp": "pip install 'optuna>=4' torch (CPU build; the trainer extra has it)",
    "bohb": "pip install hpbandster ConfigSpace",
    "pb2": "pip install scikit-learn",
    "dragonfly": "the dragonfly extra of hpo-operator",
    "hyperopt": "pip install 'hyperopt>=0.2.7'",
    "nevergrad": "pip install 'nevergrad>=1.0'",
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
    """The scheduler's Ray Tune class, given the manifest's fields as its arguments.

    ASHA, HyperBand and median stopping come as subclasses that note which trials they stop
    early (:mod:`.stop_recording`), PBT and PB2 as subclasses that log their lineage exactly
    (:mod:`.lineage`); each decides as Ray Tune's own class does.
    """
    s = spec.strategy.scheduler
    kwargs = s.tune_kwargs()
    if isinstance(s, PbtScheduler):
        from .lineage import LineagePBT

        kwargs["perturbation_factors"] = tuple(s.perturbation_factors)  # Ray's type
        return LineagePBT(**kwargs, hyperparam_mutations=pbt_mutations(spec),
                          custom_explore_fn=ClipToSpace(spec) if s.clip_to_range else None,
                          seed=population_seed(spec))
    if isinstance(s, Pb2Scheduler):
        _need("sklearn", "scheduler pb2")
        from .lineage import LineagePB2

        return LineagePB2(**kwargs, hyperparam_bounds=pb2_bounds(spec), seed=population_seed(spec))
    if s.type == "fifo":
        from .next_trial import ConstantTimeFIFO

        return ConstantTimeFIFO()
    from .stop_recording import SCHEDULERS

    return SCHEDULERS[s.type](**kwargs)


def population_seed(spec: CampaignSpec) -> int | None:
    """PBT/PB2's own seed, else the searcher's: one seed makes a whole campaign repeatable."""
    s = spec.strategy.scheduler
    own = s.seed if isinstance(s, PopulationScheduler) else None
    return own if own is not None else getattr(spec.strategy.searcher, "seed", None)


def pbt_mutations(spec: CampaignSpec) -> dict[str, Any]:
    """What PBT may change: the searched hyperparameters but those with ``mutate: false``, each
    over its whole range (validation allows algorithm ones only)."""
    return {name: list(p.values) if isinstance(p, ChoiceParam) else tune_domain(p)
            for name, p in spec.search_space.items() if p.mutate}


def pb2_bounds(spec: CampaignSpec) -> dict[str, list[float]]:
    """PB2's GP bandit works on numeric ranges (validation rejects mutated choices for pb2)."""
    return {name: [p.min, p.max] for name, p in spec.search_space.items()
            if isinstance(p, (FloatParam, IntParam)) and p.mutate}  # q and normal are refused


class ClipToSpace:
    """``clipToRange``: PBT's explore multiplies numbers by a factor without bounds (as Ray Tune
    does by default); this keeps them in the declared range, and on a quantised one's grid.

    A class, not a closure, so the scheduler pickles with the experiment state.
    """

    def __init__(self, spec: CampaignSpec) -> None:
        numeric = {name: p for name, p in spec.search_space.items()
                   if isinstance(p, (FloatParam, IntParam, NormalParam))}
        self.bounds = {name: (getattr(p, "min", -math.inf), getattr(p, "max", math.inf), p.q)
                       for name, p in numeric.items()}

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        for name, (low, high, q) in self.bounds.items():
            value = config.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if q is not None:  # the multiple of q nearest, inside the range
                    value = q * min(max(round(value / q), math.ceil(low / q)),
                                    math.floor(high / q))
                config[name] = type(config[name])(min(max(value, low), high))
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
        return _optuna(spec, s, points)
    if isinstance(s, BohbSearcher):
        _need("hpbandster", "searcher bohb")
        _need("ConfigSpace", "searcher bohb")
        from ray.tune.search.bohb import TuneBOHB

        if conditional(spec):  # our ConfigSpace, with its conditions
            return TuneBOHB(space=bohb_space(spec, s.seed), metric=spec.objective.metric,
                            mode=spec.objective.mode, seed=s.seed, points_to_evaluate=points)
        return TuneBOHB(seed=s.seed, points_to_evaluate=points)
    if isinstance(s, HyperOptSearcher):
        _need("hyperopt", "searcher hyperopt")
        from ray.tune.search.hyperopt import HyperOptSearch

        return HyperOptSearch(points_to_evaluate=points, n_initial_points=s.n_initial_points,
                              random_state_seed=s.seed)
    if isinstance(s, NevergradSearcher):
        _need("nevergrad", "searcher nevergrad")
        from .nevergrad_search import seeded_nevergrad

        return seeded_nevergrad(spec, s, points)
    return _registered(spec, s.type, points)


def _optuna(spec: CampaignSpec, s: OptunaSearcher, points: list[dict[str, Any]] | None) -> Any:
    _need("optuna", "searcher optuna")
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    startup = s.n_startup_trials
    if s.sampler == "gp":
        _need("torch", "sampler gp")
        sampler: Any = optuna.samplers.GPSampler(seed=s.seed, n_startup_trials=startup)
    else:
        # constant_liar: concurrent trials still running count as bad guesses, not as gaps,
        # so two trials started together are not given the same configuration.
        sampler = optuna.samplers.TPESampler(seed=s.seed, n_startup_trials=startup,
                                             constant_liar=True)
    if conditional(spec):  # a define-by-run space: Tune's domains cannot say "only when"
        return OptunaSearch(space=OptunaSpace(spec), metric=spec.objective.metric,
                            mode=spec.objective.mode, sampler=sampler, points_to_evaluate=points)
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


def checkpoint_score(spec: CampaignSpec) -> dict[str, Any]:
    """CheckpointConfig's ranking: ``checkpoint.scoreAttribute`` and its resolved order."""
    c = spec.checkpoint
    if c.score_attribute is None:
        return {}
    return {"checkpoint_score_attribute": c.score_attribute,
            "checkpoint_score_order": c.resolved_score_order(spec.objective)}


def stop_criteria(spec: CampaignSpec) -> Any:
    """RunConfig's ``stop``: the iteration cap as Ray Tune's dict when it is the only criterion,
    else one CombinedStopper of it, the metric thresholds, the plateau and the target."""
    cap = spec.budget.max_iterations_per_trial
    limits = {} if cap is None else {TRAINING_ITERATION: cap}
    stop = spec.budget.stop
    if not (stop.thresholds or stop.plateau or stop.at_target):
        return limits or None
    from .stoppers import combined_stopper

    return combined_stopper(spec, limits)
