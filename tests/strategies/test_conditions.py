"""Conditional parameters: Optuna (define-by-run) and BOHB (ConfigSpace conditions) search a
parameter only when its condition holds, and every other searcher refuses ``when``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hpo_operator.campaign.searchspace import param_space
from hpo_operator.campaign.status import Phase
from hpo_operator.campaign.strategies import make_searcher
from hpo_operator.driver.run import run_campaign

from tests.support.campaigns import campaign, on_bowl, parsed, problems, replace

SPACE = {
    "optimizer": {"type": "choice", "values": ["sgd", "adam", "rmsprop"]},
    "momentum": {"type": "float", "min": 0.0, "max": 0.99, "when": {"param": "optimizer",
                                                                    "values": ["sgd", "rmsprop"]}},
    "betas": {"type": "nested", "when": {"param": "optimizer", "values": ["adam"]},
              "params": {"b1": {"type": "float", "min": 0.8, "max": 0.95},
                         "b2": {"type": "float", "min": 0.99, "max": 0.9999, "log": True}}},
    "lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True},
}
SEARCHERS = {"optuna": ({"type": "fifo"}, {"type": "optuna", "seed": 0, "nStartupTrials": 5}),
             "bohb": ({"type": "bohb", "maxT": 3}, {"type": "bohb", "seed": 0})}


def expected_keys(config: dict) -> set[str]:
    extra = {"momentum"} if config["optimizer"] in ("sgd", "rmsprop") else {"betas"}
    return {"optimizer", "lr", *extra}


@pytest.mark.parametrize("who", sorted(SEARCHERS))
def test_a_conditional_parameter_is_searched_only_when_its_condition_holds(who):
    scheduler, searcher = SEARCHERS[who]
    spec = parsed("t", on_bowl(scheduler, searcher), searchSpace=replace(SPACE),
                  trainable={"config": {"epochs": 3}}).spec
    assert param_space(spec) == {"epochs": 3}  # the searcher holds the whole space
    alg = make_searcher(spec)
    rng = np.random.default_rng(0)
    configs = []
    for i in range(30):
        config = alg.suggest(f"t{i}")
        configs.append(config)
        alg.on_trial_complete(f"t{i}", {"loss": float(rng.random()), "training_iteration": 3})
    for config in configs:
        assert set(config) == expected_keys(config), config
        if "betas" in config:
            assert 0.8 <= config["betas"]["b1"] <= 0.95 and 0.99 <= config["betas"]["b2"] <= 0.9999
        if "momentum" in config:
            assert 0 <= config["momentum"] <= 0.99
    assert {c["optimizer"] for c in configs} == {"sgd", "adam", "rmsprop"}


@pytest.mark.parametrize("searcher", ["random", "grid", "hyperopt", "nevergrad", "dragonfly"])
def test_searchers_without_conditions_refuse_when_naming_themselves(searcher):
    found = problems(campaign("t", on_bowl({"type": "fifo"}, {"type": searcher}),
                              searchSpace=replace({"optimizer": SPACE["optimizer"],
                                                   "momentum": SPACE["momentum"]})))
    assert f"searcher {searcher} cannot search a conditional parameter" in \
        found["spec.searchSpace.momentum.when"]


@pytest.mark.parametrize("when, path, message", [
    ({"param": "nope", "values": ["sgd"]}, "when.param", "is not a parameter of"),
    ({"param": "lr", "values": [0.1]}, "when.param", "must name a choice parameter, not a float"),
    ({"param": "momentum", "values": [0.5]}, "when.param", "must name a choice parameter"),
    ({"param": "optimizer", "values": ["sgd", "adagrad"]}, "when.values[1]",
     "is not one of optimizer's values"),
])
def test_malformed_conditions_are_refused(when, path, message):
    space = {**SPACE, "wd": {"type": "float", "min": 0, "max": 0.1, "when": when}}
    found = problems(campaign("t", on_bowl(*SEARCHERS["optuna"]), searchSpace=replace(space)))
    assert message in found[f"spec.searchSpace.wd.{path}"], found


def test_conditions_do_not_chain_and_sit_on_top_level_parameters():
    space = {"kind": {"type": "choice", "values": ["a", "b"]},
             "sub": {"type": "choice", "values": [1, 2], "when": {"param": "kind", "values": ["a"]}},
             "deep": {"type": "float", "min": 0, "max": 1, "when": {"param": "sub", "values": [1]}},
             "n": {"type": "nested", "params": {"m": {"type": "int", "min": 1, "max": 2,
                                                      "when": {"param": "kind", "values": ["a"]}}}}}
    found = problems(campaign("t", on_bowl(*SEARCHERS["optuna"]), searchSpace=replace(space)))
    assert "conditions do not chain" in found["spec.searchSpace.deep.when.param"]
    assert "put when on the nested parameter" in found["spec.searchSpace.n.params.m.when"]


@pytest.mark.slow
def test_an_optuna_campaign_leaves_unmet_parameters_out_of_the_trial_config(local_ray, tmp_path):
    space = {"x": {"type": "float", "min": 0.0, "max": 1.0},
             "optimizer": SPACE["optimizer"], "momentum": SPACE["momentum"]}
    doc = parsed("conditional", {"strategy": {"searcher": {"type": "optuna", "seed": 1}},
                                 "budget": {"trials": 6}, "searchSpace": replace(space)})
    status = run_campaign(doc, tmp_path, [], publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
    configs = [json.loads(p.read_text())
               for p in Path(status.experiment_path).glob("*/params.json")]
    assert len(configs) == 6
    for config in configs:
        assert ("momentum" in config) == (config["optimizer"] != "adam"), config
