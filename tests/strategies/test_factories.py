"""Strategy factories build the right Ray Tune objects (no Ray cluster needed)."""

from __future__ import annotations

import pytest
from ray.tune.schedulers import HyperBandForBOHB, PopulationBasedTraining
from ray.tune.schedulers.pb2 import PB2
from ray.tune.search.bohb import TuneBOHB
from ray.tune.search.optuna import OptunaSearch

from hpo_operator.campaign import strategies
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.strategies import (
    ClipToSpace,
    checkpoints_to_keep,
    make_scheduler,
    make_searcher,
)

from tests.support.campaigns import campaign, on_bowl, parsed, replace
from tests.support.trainables import BOWL_SPACE

LR = {"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True},
      "batch_size": {"type": "int", "min": 8, "max": 64}}


def spec(scheduler, searcher, space=None):
    overrides = on_bowl(scheduler, searcher, trials=8, iterations=9)
    if scheduler["type"] in ("pbt", "pb2"):  # the population exists at once
        overrides["budget"]["maxConcurrentTrials"] = None
    return parsed("t", overrides, {"searchSpace": replace(space)} if space else {}).spec


def test_optuna_samplers_seed_and_warm_start():
    point = {"lr": 0.01, "width": 8, "dropout": 0.1, "activation": "relu"}
    tpe = make_searcher(spec({"type": "fifo"}, {"type": "optuna", "seed": 3,
                                                "pointsToEvaluate": [point]}))
    assert isinstance(tpe, OptunaSearch) and tpe._points_to_evaluate == [point]
    assert type(tpe._sampler).__name__ == "TPESampler"
    assert tpe._sampler._n_startup_trials == 10  # Optuna's default, whatever the budget
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


def test_pbt_explore_stays_in_the_declared_range_with_clip_to_range():
    clip = ClipToSpace(spec({"type": "pbt", "perturbationInterval": 3, "clipToRange": True},
                            {"type": "random"}, LR))
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


def test_stop_criteria_are_mode_aware_and_combine_with_the_iteration_cap():
    doc = campaign("t", on_bowl({"type": "fifo"}, {"type": "random"}, trials=8, iterations=9))
    s = doc["spec"]
    s["objective"]["target"] = 0.05
    s["budget"]["stop"] = {"thresholds": [{"metric": "loss", "threshold": 0.1},
                                          {"metric": "accuracy", "threshold": 0.9, "mode": "max"}],
                           "atTarget": True}
    stopper = strategies.stop_criteria(parse_campaign(doc).spec)
    assert stopper("a", {"loss": 0.1, "training_iteration": 1})  # as good as the threshold
    assert not stopper("a", {"loss": 0.11, "accuracy": 0.89, "training_iteration": 1})
    assert stopper("a", {"loss": 0.5, "accuracy": 0.9, "training_iteration": 1})
    assert stopper("a", {"loss": 0.5, "training_iteration": 9})  # the iteration cap
    assert not stopper("a", {"loss": float("nan"), "training_iteration": 2})
    assert not stopper.stop_all()
    stopper("b", {"loss": 0.05, "training_iteration": 3})  # the target: every trial stops
    assert stopper.stop_all()
    del s["budget"]["stop"]
    assert strategies.stop_criteria(parse_campaign(doc).spec) == {"training_iteration": 9}


def test_checkpoints_ranked_by_a_score_follow_the_objective_unless_told():
    def score(checkpoint: dict) -> dict:
        doc = campaign("t", on_bowl({"type": "fifo"}, {"type": "random"}, trials=8, iterations=9),
                       checkpoint=checkpoint)
        return strategies.checkpoint_score(parse_campaign(doc).spec)

    assert score({}) == {}
    assert score({"scoreAttribute": "loss"}) == {"checkpoint_score_attribute": "loss",
                                                 "checkpoint_score_order": "min"}
    assert score({"scoreAttribute": "accuracy"})["checkpoint_score_order"] == "max"  # Ray's
    assert score({"scoreAttribute": "loss", "scoreOrder": "max"})["checkpoint_score_order"] \
        == "max"
