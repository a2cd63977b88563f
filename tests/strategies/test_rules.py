"""Strategy settings are validated with field paths (no Ray needed)."""

from __future__ import annotations

import pytest

from hpo_operator.campaign.manifest import ManifestError, parse_campaign

from tests.support.campaigns import campaign, on_bowl, replace

ALGO = {"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True},
        "batch_size": {"type": "choice", "values": [16, 32]}}


def problems(scheduler, searcher=None, trials=8, iterations=9, space=None,
             cap: int | None = 2) -> dict[str, str]:
    if scheduler is None or "maxT" in scheduler:  # the scheduler's maxT is the limit
        iterations = None
    doc = campaign("t", on_bowl(scheduler, searcher, trials, iterations),
                   {"searchSpace": replace(space)} if space is not None else {},
                   {"budget": {"maxConcurrentTrials": cap}})  # None: no cap
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
    ({"type": "median", "timeAttr": "training_iteration", "gracePeriod": 9},
     "spec.strategy.scheduler.gracePeriod", "iteration limit (9)"),
    ({"type": "median", "minSamplesRequired": 20}, "spec.strategy.scheduler.minSamplesRequired",
     "spec.budget.trials"),
    ({"type": "pbt", "timeAttr": "training_iteration", "perturbationInterval": 9},
     "spec.strategy.scheduler.perturbationInterval", "never exploits"),
    ({"type": "pb2", "timeAttr": "training_iteration", "perturbationInterval": 12},
     "spec.strategy.scheduler.perturbationInterval", "PB2 never exploits"),
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


def test_limits_are_compared_in_the_schedulers_time_attr():
    # maxT in seconds is not an iteration count: no clash with the iteration cap.
    assert problems({"type": "asha", "timeAttr": "time_total_s", "maxT": 600}) == {}
    found = spec_problems(bowl_spec({"type": "asha", "maxT": 20}, 8, 9))
    assert "maxIterationsPerTrial (9)" in found["spec.strategy.scheduler.maxT"]
    # PBT's default timeAttr is seconds: an interval of 9 s says nothing about 9 iterations.
    assert problems({"type": "pbt", "perturbationInterval": 9}, space=ALGO, cap=None) == {}
    # Trials that run past maxT (stopLastTrials: false) need another limit.
    found = problems({"type": "asha", "maxT": 9, "stopLastTrials": False})
    assert "never end" in found["spec.budget.maxIterationsPerTrial"]


def test_initial_values_and_mutate_belong_to_pbt_and_lie_in_the_range():
    pbt = {"type": "pbt", "timeAttr": "training_iteration", "perturbationInterval": 3}
    narrowed = {"lr": {**ALGO["lr"], "initial": {"min": 1e-3, "max": 1e-2}},
                "batch_size": {**ALGO["batch_size"], "mutate": False,
                               "initial": {"values": [32]}}}
    assert problems(pbt, space=narrowed, cap=None) == {}
    found = problems({"type": "asha", "maxT": 9}, space=narrowed)
    assert "pbt and pb2 only" in found["spec.searchSpace.lr.initial"]
    assert "pbt and pb2 only" in found["spec.searchSpace.batch_size.mutate"]
    outside = {"lr": {**ALGO["lr"], "initial": {"min": 1e-3, "max": 0.5}},
               "batch_size": {**ALGO["batch_size"], "initial": {"values": [64]}}}
    found = problems(pbt, space=outside, cap=None)
    assert "outside the parameter's range" in found["spec.searchSpace.lr.initial.max"]
    assert "outside" in found["spec.searchSpace.batch_size.initial.values[0]"]
    frozen = {k: {**v, "mutate": False} for k, v in ALGO.items()}
    assert "at least one hyperparameter to mutate" in problems(pbt, space=frozen,
                                                               cap=None)["spec.searchSpace"]


def test_pb2_may_keep_a_choice_it_does_not_mutate():
    pb2 = {"type": "pb2", "timeAttr": "training_iteration", "perturbationInterval": 3}
    space = {"lr": ALGO["lr"], "batch_size": {**ALGO["batch_size"], "mutate": False}}
    assert problems(pb2, space=space, cap=None) == {}


def bowl_spec(scheduler: dict, trials: int, iterations: int) -> dict:
    """The spec of a random-search campaign on the Bowl toy, to edit before validating it."""
    return campaign("t", on_bowl(scheduler, {"type": "random"}, trials, iterations))["spec"]


def spec_problems(spec) -> dict[str, str]:
    try:
        parse_campaign({**campaign("t"), "spec": spec})
    except ManifestError as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


def stop_problems(stop, target=None, checkpoint=None) -> dict[str, str]:
    spec = bowl_spec({"type": "fifo"}, 8, 9)
    spec["budget"]["stop"] = stop
    if target is not None:
        spec["objective"]["target"] = target
    if checkpoint is not None:
        spec["checkpoint"] = checkpoint
    return spec_problems(spec)


def test_stop_criteria_say_which_way_is_better_and_need_a_target():
    assert stop_problems({"thresholds": [{"metric": "loss", "threshold": 0.1}],
                          "plateau": {"metricThreshold": 0.2}}) == {}
    found = stop_problems({"thresholds": [{"metric": "accuracy", "threshold": 0.9}],
                           "plateau": {"metric": "accuracy", "metricThreshold": 0.2},
                           "atTarget": True})
    assert "lower or higher" in found["spec.budget.stop.thresholds[0].mode"]
    assert "metricThreshold" in found["spec.budget.stop.plateau.mode"]
    assert "objective.target" in found["spec.budget.stop.atTarget"]
    assert stop_problems({"atTarget": True}, target=0.1) == {}


def test_checkpoints_are_ordered_by_their_score_attribute():
    found = stop_problems({}, checkpoint={"scoreOrder": "min"})
    assert "scoreAttribute" in found["spec.checkpoint.scoreOrder"]
