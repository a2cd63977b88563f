"""Strategy factories build the right Ray Tune objects (no Ray cluster needed)."""

from __future__ import annotations

import pytest
from ray.tune.schedulers import HyperBandForBOHB, PopulationBasedTraining
from ray.tune.schedulers.pb2 import PB2
from ray.tune.search.bohb import TuneBOHB
from ray.tune.search.optuna import OptunaSearch

from hpo_operator.campaign import strategies
from hpo_operator.campaign.strategies import (
    ClipToSpace,
    checkpoints_to_keep,
    make_scheduler,
    make_searcher,
)

from tests.support.campaigns import on_bowl, parsed, replace
from tests.support.trainables import BOWL_SPACE

LR = {"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True},
      "batch_size": {"type": "int", "min": 8, "max": 64}}


def spec(scheduler, searcher, space=None):
    return parsed("t", on_bowl(scheduler, searcher, trials=8, iterations=9),
                  {"searchSpace": replace(space)} if space else {}).spec


def test_optuna_samplers_seed_and_warm_start():
    point = {"lr": 0.01, "width": 8, "dropout": 0.1, "activation": "relu"}
    tpe = make_searcher(spec({"type": "fifo"}, {"type": "optuna", "seed": 3,
                                                "pointsToEvaluate": [point]}))
    assert isinstance(tpe, OptunaSearch) and tpe._points_to_evaluate == [point]
    assert type(tpe._sampler).__name__ == "TPESampler"
    assert tpe._sampler._n_startup_trials == 2  # a third of 8 trials
    gp = make_searcher(spec({"type": "fifo"}, {"type": "optuna", "sampler": "gp",
                                               "nStartupTrials": 5}))
    assert type(gp._sampler).__name__ == "GPSampler" and gp._sampler._n_startup_trials == 5


def test_bohb_pairs_its_searcher_and_scheduler():
    # Neither a scheduler nor an iteration limit: the BOHB searcher is paired with its scheduler.
    s = parsed("t", on_bowl(None, {"type": "bohb", "seed": 1}),
               budget=replace({"trials": 8})).spec
    assert isinstance(make_scheduler(s), HyperBandForBOHB)
    assert isinstance(make_searcher(s), TuneBOHB)


def test_pbt_and_pb2_exploit_checkpoints_they_take_themselves():
    pbt_spec = spec({"type": "pbt", "perturbationInterval": 3, "perturbationFactors": [2, 0.5]},
                    {"type": "random"}, LR)
    pbt = make_scheduler(pbt_spec)
    assert isinstance(pbt, PopulationBasedTraining) and pbt._perturbation_factors == (2, 0.5)
    assert pbt._log_config
    assert checkpoints_to_keep(pbt_spec) >= 3  # Ray: fewer breaks exploits
    pb2 = make_scheduler(spec({"type": "pb2", "perturbationInterval": 3}, {"type": "random"}, LR))
    assert isinstance(pb2, PB2) and pb2._hyperparam_bounds == {"lr": [1e-4, 0.1],
                                                               "batch_size": [8, 64]}


def test_pbt_explore_stays_in_the_declared_range():
    clip = ClipToSpace(spec({"type": "pbt", "perturbationInterval": 3}, {"type": "random"}, LR))
    assert clip({"lr": 0.3, "batch_size": 100}) == {"lr": 0.1, "batch_size": 64}
    assert clip({"lr": 1e-6, "batch_size": 3}) == {"lr": 1e-4, "batch_size": 8}


def test_missing_library_is_a_clear_error(monkeypatch):
    import importlib

    def fail(name, *a, **k):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(importlib, "import_module", fail)
    with pytest.raises(strategies.StrategyUnavailable, match="pip install hpbandster"):
        make_searcher(spec({"type": "bohb", "maxT": 9}, {"type": "bohb"}))


def test_space_has_every_kind():
    assert {p["type"] for p in BOWL_SPACE.values()} == {"float", "int", "choice"}
