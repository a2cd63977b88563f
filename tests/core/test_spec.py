"""The spec model and its rules: valid manifests parse, every invalid one is reported precisely."""

from __future__ import annotations

import pytest

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.spec import infer_role, parse_duration

from tests.support.campaigns import campaign, problems, replace


def test_valid_manifest_gets_defaults():
    spec = parse_campaign(campaign()).spec
    assert spec.strategy.searcher.type == "random"
    assert spec.checkpoint.frequency == 0 and spec.checkpoint.at_end is False
    assert spec.runtime.fail_fast is True and spec.runtime.reuse_actors is None
    assert spec.resources.per_trial.cpu == 1


def test_default_strategy_is_asha_with_random_search():
    doc = campaign(strategy=None)
    spec = parse_campaign(doc).spec
    assert (spec.strategy.scheduler.type, spec.strategy.searcher.type) == ("asha", "random")


def test_every_field_problem_reported_at_once_with_path_and_value():
    doc = campaign(
        objective={"metric": "loss", "mode": "minimise"},
        searchSpace={
            "lr": {"type": "float", "min": 0.1, "max": 0.01},
            "wd": {"type": "float", "min": 0.0, "max": 1.0, "log": True},
            "bs": {"type": "choice", "values": []},
            "n": {"type": "integr", "min": 1, "max": 3},
        },
        budget={"trials": 0, "timeLimit": "soon"},
    )
    found = problems(doc)
    assert "spec.objective.mode" in found and "'minimise'" in found["spec.objective.mode"]
    assert "min must be less than max" in found["spec.searchSpace.lr"]
    assert "log range needs min > 0" in found["spec.searchSpace.wd"]
    assert "at least one value" in found["spec.searchSpace.bs.values"]
    assert "integr" in found["spec.searchSpace.n.type"]
    assert "spec.budget.trials" in found
    assert "soon" in found["spec.budget.timeLimit"]


def test_unknown_field_is_an_error_not_ignored():
    doc = campaign()
    doc["spec"]["strategy"]["scheduler"]["gracePeriodd"] = 2
    found = problems(doc)
    assert "spec.strategy.scheduler.gracePeriodd" in found
    assert "not a known field" in found["spec.strategy.scheduler.gracePeriodd"]


def test_unknown_field_names_the_closest_known_one():
    doc = campaign(budget=replace({"trials": 6, "maxConcurentTrials": 2}))
    doc["spec"]["runtime"] = {"bogus": True}
    found = problems(doc)
    assert found["spec.budget.maxConcurentTrials"].endswith("did you mean maxConcurrentTrials?")
    # nothing close: the fields that do exist, as the manifest spells them
    assert "expected one of: failFast, reuseActors" in found["spec.runtime.bogus"]


def test_unknown_strategy_and_parameter_types_name_the_choices():
    doc = campaign(strategy={"scheduler": {"type": "hyperopt"}, "searcher": {"type": "tpe"}},
                   searchSpace={"x": {"type": "choise", "values": [1, 2]},
                                "y": {"min": 1, "max": 2}})
    found = problems(doc)
    assert found["spec.strategy.scheduler.type"] == (
        "spec.strategy.scheduler.type: unknown scheduler 'hyperopt'; expected one of: fifo, asha, "
        "async_hyperband, hyperband, bohb, median, pbt, pb2")
    assert found["spec.strategy.searcher.type"].startswith(
        "spec.strategy.searcher.type: unknown searcher 'tpe'; expected one of: random, grid,")
    assert found["spec.searchSpace.x.type"].endswith(
        "unknown parameter type 'choise'; expected one of: float, int, normal, choice, grid, "
        "nested (did you mean choice?)")
    assert found["spec.searchSpace.y.type"].endswith("is required; expected one of: float, int, "
                                                     "normal, choice, grid, nested")
    assert not any("tag" in text or "discriminator" in text for text in found.values())


def test_a_rejected_value_is_shown_once():
    doc = campaign(searchSpace={"lr": {"type": "float", "min": 0.1, "max": 0.01}},
                   budget={"trials": 6, "timeLimit": "-3m"})
    found = problems(doc)
    assert found["spec.budget.timeLimit"].count("-3m") == 1
    assert found["spec.searchSpace.lr"].endswith("got min=0.1, max=0.01")


def test_missing_required_fields():
    doc = campaign(objective=None, trainable=None)
    assert {"spec.objective", "spec.trainable"} <= problems(doc).keys()


def test_entrypoint_must_be_module_colon_attribute():
    doc = campaign(trainable={"entrypoint": "tests.support.trainables.Curve"})
    assert "spec.trainable.entrypoint" in problems(doc)


def test_grid_search_only_over_choices():
    doc = campaign(strategy={"searcher": {"type": "grid"}, "scheduler": {"type": "fifo"}},
                   budget={"trials": 1, "maxIterationsPerTrial": 2})
    assert "spec.searchSpace.x.type" in problems(doc)


def test_pbt_rejects_architecture_hyperparameters_and_says_why():
    doc = campaign(
        searchSpace=replace({"lr": {"type": "float", "min": 1e-4, "max": 1e-1, "log": True},
                             "num_graph_conv_layers": {"type": "int", "min": 1, "max": 5},
                             "mystery": {"type": "float", "min": 0, "max": 1}}),
        strategy={"scheduler": {"type": "pbt", "perturbationInterval": 2}},
        budget={"trials": 4, "maxIterationsPerTrial": 8},
    )
    found = problems(doc)
    assert "architecture" in found["spec.searchSpace.num_graph_conv_layers"]
    assert "exploit" in found["spec.searchSpace.num_graph_conv_layers"]
    assert "role: algorithm" in found["spec.searchSpace.mystery.role"]
    assert "spec.searchSpace.lr" not in found


def test_pbt_accepts_algorithm_hyperparameters_and_declared_roles():
    doc = campaign(
        searchSpace=replace({"lr": {"type": "float", "min": 1e-4, "max": 1e-1, "log": True},
                             "batch_size": {"type": "choice", "values": [16, 32]},
                             "mystery": {"type": "float", "min": 0, "max": 1,
                                         "role": "algorithm"}}),
        strategy={"scheduler": {"type": "pbt", "perturbationInterval": 2}},
        budget={"trials": 4, "maxIterationsPerTrial": 8, "maxConcurrentTrials": None},
    )
    assert parse_campaign(doc).spec.strategy.scheduler.type == "pbt"


def test_scheduler_settings_consistent_with_budget():
    doc = campaign(strategy={"scheduler": {"type": "asha", "maxT": 10, "gracePeriod": 20}},
                   budget={"trials": 4, "maxIterationsPerTrial": 5})
    found = problems(doc)
    assert "must not exceed maxT" in found["spec.strategy.scheduler.gracePeriod"]
    assert "maxIterationsPerTrial" in found["spec.strategy.scheduler.maxT"]


def test_unbounded_trials_are_rejected():
    doc = campaign(strategy={"scheduler": {"type": "fifo"}}, budget={"trials": 2})
    assert "spec.budget.maxIterationsPerTrial" in problems(doc)
    doc["spec"]["budget"]["timeLimit"] = "5m"
    assert parse_campaign(doc).spec.budget.time_limit == 300


def test_fixed_and_searched_value_conflict():
    doc = campaign(trainable={"config": {"x": 0.5}})
    assert "spec.trainable.config.x" in problems(doc)


def test_points_to_evaluate_must_lie_in_the_space():
    doc = campaign(strategy={"searcher": {"type": "random", "pointsToEvaluate": [
        {"x": 0.3}, {"x": 3.0}, {"y": 1}]}})
    found = problems(doc)
    assert set(found) == {"spec.strategy.searcher.pointsToEvaluate[1].x",
                          "spec.strategy.searcher.pointsToEvaluate[2].y"}


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("30m", 1800), ("8h", 28800),
                                          ("1h30m", 5400), (120, 120)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "ten minutes", -5, 0, True])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("name,role", [("lr", "algorithm"), ("learning_rate", "algorithm"),
                                       ("batch_size", "algorithm"), ("momentum", "algorithm"),
                                       ("num_fc_layers", "model"), ("fc_feat_size", "model"),
                                       ("atom_embedding_size", "model"), ("alpha", None)])
def test_role_inference(name, role):
    from hpo_operator.campaign.spec import FloatParam

    assert infer_role(name, FloatParam(type="float", min=0.1, max=1)) == role
