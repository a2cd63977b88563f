"""Strategy settings are validated with field paths (no Ray needed)."""

from __future__ import annotations

import pytest

from hpo_operator.campaign.manifest import ManifestError, parse_campaign

from tests.support.campaigns import campaign, on_bowl, replace

ALGO = {"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True},
        "batch_size": {"type": "choice", "values": [16, 32]}}


def problems(scheduler, searcher=None, trials=8, iterations=9, space=None) -> dict[str, str]:
    if scheduler is None or "maxT" in scheduler:  # the scheduler's maxT is the limit
        iterations = None
    doc = campaign("t", on_bowl(scheduler, searcher, trials, iterations),
                   {"searchSpace": replace(space)} if space is not None else {})
    try:
        parse_campaign(doc)
    except ManifestError as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


def test_bohb_searcher_and_scheduler_go_together():
    assert problems(None, {"type": "bohb"}) == {}  # paired automatically
    found = problems({"type": "asha", "maxT": 9}, {"type": "bohb"})
    assert "scheduler type bohb" in found["spec.strategy.scheduler.type"]
    found = problems({"type": "bohb", "maxT": 9}, {"type": "optuna"})
    assert "searcher type bohb" in found["spec.strategy.searcher.type"]


@pytest.mark.parametrize("scheduler, path, words", [
    ({"type": "async_hyperband", "maxT": 9, "gracePeriod": 1, "reductionFactor": 3,
      "brackets": 4}, "spec.strategy.scheduler.brackets", "only 2 bracket"),
    ({"type": "asha", "maxT": 9, "gracePeriod": 9}, "spec.strategy.scheduler.gracePeriod",
     "ever stopped early"),
    ({"type": "hyperband", "maxT": 2, "reductionFactor": 3}, "spec.strategy.scheduler.maxT",
     "single rung"),
    ({"type": "median", "gracePeriod": 9}, "spec.strategy.scheduler.gracePeriod",
     "iteration limit (9)"),
    ({"type": "median", "minSamplesRequired": 20}, "spec.strategy.scheduler.minSamplesRequired",
     "spec.budget.trials"),
    ({"type": "pbt", "perturbationInterval": 9}, "spec.strategy.scheduler.perturbationInterval",
     "never exploits"),
    ({"type": "pb2", "perturbationInterval": 12}, "spec.strategy.scheduler.perturbationInterval",
     "PB2 never exploits"),
    ({"type": "pbt", "perturbationFactors": [1.2, 1.1]},
     "spec.strategy.scheduler.perturbationFactors", "one in (0, 1)"),
])
def test_scheduler_settings_are_checked_against_the_budget(scheduler, path, words):
    space = ALGO if scheduler["type"] in ("pbt", "pb2") else None
    if scheduler["type"] == "pb2":
        space = {"lr": ALGO["lr"]}
    found = problems(scheduler, {"type": "random"}, space=space)
    assert words in found[path], found


def test_pb2_needs_numeric_algorithm_hyperparameters():
    found = problems({"type": "pb2", "perturbationInterval": 2}, {"type": "random"},
                     space={**ALGO, "width": {"type": "int", "min": 1, "max": 9}})
    assert "PB2 explores numeric bounds" in found["spec.searchSpace.batch_size.type"]
    assert "PB2 may mutate algorithm hyperparameters only" in found["spec.searchSpace.width"]
    found = problems({"type": "pb2", "perturbationInterval": 2}, {"type": "optuna"},
                     space={"lr": ALGO["lr"]})
    assert "PB2 explores by itself" in found["spec.strategy.searcher.type"]


def test_searcher_settings():
    found = problems({"type": "fifo"}, {"type": "optuna", "nStartupTrials": 8})
    assert "random start-up phase" in found["spec.strategy.searcher.nStartupTrials"]
    found = problems({"type": "fifo"}, {"type": "optuna", "sampler": "cmaes"})
    assert "spec.strategy.searcher.sampler" in found
    point = {"lr": 0.01, "width": 8, "dropout": 0.1, "activation": "relu"}
    found = problems({"type": "fifo"}, {"type": "bohb", "pointsToEvaluate": [point] * 9})
    assert "never run" in found["spec.strategy.searcher.pointsToEvaluate"]
    found = problems({"type": "fifo"}, {"type": "dragonfly",
                                        "pointsToEvaluate": [{**point, "width": 500}]})
    assert "outside" in found["spec.strategy.searcher.pointsToEvaluate[0].width"]


def test_valid_strategies_pass():
    for scheduler, searcher in [({"type": "asha", "maxT": 9}, {"type": "optuna"}),
                                ({"type": "fifo"}, {"type": "optuna", "sampler": "gp"}),
                                ({"type": "async_hyperband", "maxT": 27}, {"type": "dragonfly"}),
                                ({"type": "median"}, {"type": "bohb"})]:
        found = problems(scheduler, searcher)
        if searcher["type"] == "bohb":
            assert set(found) == {"spec.strategy.scheduler.type"}
        else:
            assert found == {}, (scheduler, searcher, found)
