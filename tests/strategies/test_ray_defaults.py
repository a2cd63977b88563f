"""Ray Tune's names and defaults: a manifest that copies a Tuner call gets that call's objects.

Checked against the installed Ray's own signatures, so a Ray upgrade that changes a default or
adds an argument fails here instead of silently changing what a manifest means.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from ray.tune.schedulers import AsyncHyperBandScheduler, HyperBandScheduler, PopulationBasedTraining

from hpo_operator.campaign import spec as spec_models
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.strategies import make_scheduler, make_searcher
from tests.support.campaigns import exact

SCHEDULERS = [spec_models.FifoScheduler, spec_models.AshaScheduler,
              spec_models.AsyncHyperBandScheduler, spec_models.HyperBandScheduler,
              spec_models.BohbScheduler, spec_models.MedianStoppingScheduler,
              spec_models.PbtScheduler, spec_models.Pb2Scheduler]
# Ray's arguments that a manifest gives elsewhere (objective, search space) or not at all (code).
ELSEWHERE = {"metric", "mode", "hyperparam_mutations", "hyperparam_bounds", "custom_explore_fn"}
LR = {"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True}}


def tune_class(model: type) -> type:
    module, _, name = model.TUNE_CLASS.rpartition(".")
    return getattr(importlib.import_module(module), name)


def ray_defaults(model: type) -> dict[str, Any]:
    params = inspect.signature(tune_class(model).__init__).parameters
    return {n: p.default for n, p in params.items() if n not in ("self", *ELSEWHERE)}


def normalized(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("model", SCHEDULERS, ids=lambda m: m.__name__)
def test_every_argument_of_rays_scheduler_is_a_field_with_rays_default(model):
    ours = {name: normalized(field.get_default(call_default_factory=True))
            for name, field in model.model_fields.items()
            if name != "type" and name not in model.OURS}
    assert ours == {k: normalized(v) for k, v in ray_defaults(model).items()}


def spec_of(scheduler: dict[str, Any], **budget: Any) -> Any:
    population = scheduler["type"] in ("pbt", "pb2")
    return parse_campaign(exact("copy", {
        "objective": {"metric": "loss", "mode": "min"},
        "searchSpace": LR if population else {"x": {"type": "float", "min": 0.0, "max": 1.0}},
        "strategy": {"scheduler": scheduler}, "budget": {"trials": 4, **budget},
        "trainable": {"entrypoint": "tests.support.trainables:Curve"}})).spec


def state(scheduler: Any) -> dict[str, Any]:
    """What a scheduler decides with: its plain settings, and its brackets' rungs."""
    plain = {k: v for k, v in vars(scheduler).items()
             if isinstance(v, (int, float, str, bool, tuple, type(None)))}
    if isinstance(scheduler, AsyncHyperBandScheduler):
        plain["rungs"] = [[r for r, _ in b._rungs] for b in scheduler._brackets]
    return plain


@pytest.mark.parametrize("ray_class, manifest", [
    (AsyncHyperBandScheduler, {"type": "async_hyperband"}),
    (AsyncHyperBandScheduler, {"type": "asha"}),
    (HyperBandScheduler, {"type": "hyperband"}),
])
def test_a_literal_copy_of_a_ray_scheduler_runs_rays_scheduler(ray_class, manifest):
    ours = make_scheduler(spec_of(manifest, maxIterationsPerTrial=200))
    assert isinstance(ours, ray_class)
    assert state(ours) == state(ray_class())  # max_t 100 / 81, reduction factor 4 / 3, ...


def test_a_literal_copy_of_pbt_explores_as_ray_does():
    ours = make_scheduler(spec_of({"type": "pbt"}, maxIterationsPerTrial=50))
    ray = PopulationBasedTraining(hyperparam_mutations=dict(ours._hyperparam_mutations))
    assert {k: v for k, v in state(ours).items() if k in state(ray)} == state(ray)
    assert ours._time_attr == "time_total_s" and ours._perturbation_interval == 60.0
    assert ours._custom_explore_fn is None  # no clipping: Ray's explore


def test_optuna_starts_up_as_optuna_does():
    import optuna

    spec = parse_campaign(exact("optuna", {
        "objective": {"metric": "loss", "mode": "min"}, "searchSpace": LR,
        "strategy": {"scheduler": {"type": "fifo"}, "searcher": {"type": "optuna"}},
        "budget": {"trials": 4, "maxIterationsPerTrial": 2},
        "trainable": {"entrypoint": "tests.support.trainables:Curve"}})).spec
    default = inspect.signature(optuna.samplers.TPESampler).parameters["n_startup_trials"].default
    assert make_searcher(spec)._sampler._n_startup_trials == default == 10


def test_hyperopt_starts_up_as_ray_does():
    from ray.tune.search.hyperopt import HyperOptSearch

    spec = parse_campaign(exact("hyperopt", {
        "objective": {"metric": "loss", "mode": "min"}, "searchSpace": LR,
        "strategy": {"scheduler": {"type": "fifo"}, "searcher": {"type": "hyperopt"}},
        "budget": {"trials": 4, "maxIterationsPerTrial": 2},
        "trainable": {"entrypoint": "tests.support.trainables:Curve"}})).spec
    default = inspect.signature(HyperOptSearch).parameters["n_initial_points"].default
    searcher = make_searcher(spec)
    assert searcher.algo.keywords["n_startup_jobs"] == default == 20
