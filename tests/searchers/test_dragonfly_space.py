"""Our search space <-> Dragonfly's domain: variables, round trips, types and bounds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hpo_operator.campaign.spec import ChoiceParam, FloatParam, IntParam
from hpo_operator.searchers.dragonfly import DragonflySearcher
from hpo_operator.searchers.dragonfly_space import DragonflySpace

SPACE = {
    "lr": FloatParam(type="float", min=1e-4, max=1e-1, log=True),
    "dropout": FloatParam(type="float", min=0.0, max=0.5),
    "layers": IntParam(type="int", min=1, max=8),
    "width": IntParam(type="int", min=8, max=512, log=True),
    "batch_size": ChoiceParam(type="choice", values=[16, 32, 64.5, 128]),
    "activation": ChoiceParam(type="choice", values=["relu", "tanh", True, 3]),
    "optimizer": ChoiceParam(type="choice", values=["adam"]),
}


def assert_in_space(config: dict[str, Any]) -> None:
    assert list(config) == list(SPACE)
    for name, param in SPACE.items():
        value = config[name]
        if isinstance(param, FloatParam):
            assert type(value) is float and param.min <= value <= param.max, (name, value)
        elif isinstance(param, IntParam):
            assert type(value) is int and param.min <= value <= param.max, (name, value)
        else:
            assert any(v == value and type(v) is type(value) for v in param.values), (name, value)


def test_domain_variables() -> None:
    variables = {v["name"]: v for v in DragonflySpace(SPACE).domain_config()["domain"]}
    assert variables["x0"] == {"name": "x0", "type": "float",
                               "min": math.log(1e-4), "max": math.log(1e-1)}
    assert variables["x1"] == {"name": "x1", "type": "float", "min": 0.0, "max": 0.5}
    assert variables["x2"] == {"name": "x2", "type": "int", "min": 1, "max": 8}
    assert variables["x3"]["type"] == "float"  # log int: searched in log space, rounded back
    assert variables["x3"]["min"] == pytest.approx(math.log(7.5))
    assert variables["x4"] == {"name": "x4", "type": "discrete_numeric",
                               "items": [16.0, 32.0, 64.5, 128.0]}
    assert variables["x5"] == {"name": "x5", "type": "discrete", "items": ["v0", "v1", "v2", "v3"]}
    assert len(variables) == 6  # the one-value choice is a constant, not a variable


@pytest.mark.parametrize("config", [
    {"lr": 1e-4, "dropout": 0.0, "layers": 1, "width": 8, "batch_size": 16,
     "activation": "relu", "optimizer": "adam"},
    {"lr": 0.1, "dropout": 0.5, "layers": 8, "width": 512, "batch_size": 128,
     "activation": True, "optimizer": "adam"},
    {"lr": 0.00316, "dropout": 0.25, "layers": 4, "width": 64, "batch_size": 64.5,
     "activation": 3, "optimizer": "adam"},
])
def test_round_trip(config: dict[str, Any]) -> None:
    space = DragonflySpace(SPACE)
    back = space.to_config(space.to_raw(config))
    assert_in_space(back)
    assert back["lr"] == pytest.approx(config["lr"])
    assert {k: v for k, v in back.items() if k != "lr"} == {
        k: v for k, v in config.items() if k != "lr"}
    assert type(back["activation"]) is type(config["activation"])  # True stays True, 3 stays 3


def test_raw_points_map_into_the_space() -> None:
    space = DragonflySpace(SPACE)
    config = space.to_config([math.log(2e-3), 0.1, 3, math.log(7.6), 64.5, "v2"])
    assert_in_space(config)
    assert config["width"] == 8 and config["activation"] is True and config["optimizer"] == "adam"
    edges = space.to_config([math.log(1e-1) + 1e-12, 0.5, 8, math.log(512.49), 128.0, "v0"])
    assert edges["lr"] == 0.1 and edges["width"] == 512


@pytest.mark.parametrize("bad, message", [
    ({"lr": 1.0}, "outside"),
    ({"layers": 2.5}, "integer"),
    ({"activation": 1}, "not one of"),  # 1 is not True
    ({"optimizer": "sgd"}, "not one of"),
    ({"dropout": "x"}, "number"),
])
def test_invalid_points_are_rejected(bad: dict[str, Any], message: str) -> None:
    config = {"lr": 1e-3, "dropout": 0.1, "layers": 2, "width": 16, "batch_size": 32,
              "activation": "relu", "optimizer": "adam", **bad}
    with pytest.raises(ValueError, match=message):
        DragonflySpace(SPACE).to_raw(config)
    with pytest.raises(ValueError, match=message):
        DragonflySearcher(SPACE, points_to_evaluate=[config])


def test_degenerate_spaces() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        DragonflySpace({})
    with pytest.raises(ValueError, match="varies"):
        DragonflySpace({"opt": ChoiceParam(type="choice", values=["adam"])})


def test_suggestions_lie_in_the_space() -> None:
    """Random initial points and GP-driven ones alike: right names, types and bounds."""
    searcher = DragonflySearcher(SPACE, metric="loss", mode="min", seed=1,
                                 options={"acq_opt_max_evals": 100, "gpb_hp_tune_criterion": "ml",
                                          "hp_tune_max_evals": 100})
    for i in range(9):
        config = searcher.suggest(str(i))
        assert_in_space(config)
        searcher.on_trial_complete(str(i), {"loss": math.log10(config["lr"]) ** 2 + config["layers"]})
    assert searcher._opt.gp_processor is not None  # the last suggestions came from the GP


Q_SPACE = {
    "dropout": FloatParam(type="float", min=0.0, max=0.5, q=0.1),
    "lr": FloatParam(type="float", min=0.001, max=0.1, q=0.001, log=True),
    "width": IntParam(type="int", min=8, max=64, q=8),
    "batch": IntParam(type="int", min=4, max=1024, q=4, log=True),
}


def on_grid(value: float, q: float) -> bool:
    return abs(value / q - round(value / q)) < 1e-9 * max(1, abs(value / q))


def test_quantised_ranges_map_onto_their_grid_and_back() -> None:
    space = DragonflySpace(Q_SPACE)
    variables = space.domain_config()["domain"]
    assert variables[0] == {"name": "x0", "type": "int", "min": 0, "max": 5}  # indices of 0.1
    assert variables[2] == {"name": "x2", "type": "int", "min": 1, "max": 8}
    rng = np.random.default_rng(0)
    seen: dict[str, set] = {name: set() for name in Q_SPACE}
    for _ in range(2000):
        raw = [rng.integers(v["min"], v["max"] + 1) if v["type"] == "int"
               else rng.uniform(v["min"], v["max"]) for v in variables]
        config = space.to_config(raw)
        for name, param in Q_SPACE.items():
            assert param.min <= config[name] <= param.max and on_grid(config[name], param.q)
            seen[name].add(round(config[name], 9))
        assert space.to_config(space.to_raw(config)) == config  # every value round-trips
    assert seen["width"] == {8, 16, 24, 32, 40, 48, 56, 64}
    assert {4, 1024} <= seen["batch"]  # both ends of a quantised log int are reached


def test_quantised_suggestions_lie_on_the_grid() -> None:
    searcher = DragonflySearcher(Q_SPACE, metric="loss", mode="min", seed=1,
                                 options={"acq_opt_max_evals": 100, "gpb_hp_tune_criterion": "ml",
                                          "hp_tune_max_evals": 100})
    for i in range(9):
        config = searcher.suggest(str(i))
        for name, param in Q_SPACE.items():
            assert param.min <= config[name] <= param.max and on_grid(config[name], param.q)
        searcher.on_trial_complete(str(i), {"loss": (config["width"] - 40) ** 2})
