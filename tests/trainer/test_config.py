"""The trial config: each key's declaration (type, default, range, group) is what is enforced."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hpo_trainer import config as config_module
from hpo_trainer.config import (
    ALGORITHM_KEYS,
    ARCHITECTURE_KEYS,
    BOUNDS,
    DATA_KEYS,
    SPLIT_KEYS,
    LRSchedule,
    TrialConfig,
    check,
)

DECLARED = {f.name: f for f in dataclasses.fields(TrialConfig)}
RANGED = sorted(name for name, f in DECLARED.items() if set(BOUNDS) & set(f.metadata))


def _kind(name: str) -> str:
    return str(DECLARED[name].type).partition(" | ")[0]


def _outside(rule: str, bound: float) -> float:
    # The nearest value the rule rejects (the bound itself for the exclusive rules).
    return {"min": bound - 1, "above": bound, "max": bound + 1, "below": bound}[rule]


def test_config_defaults_and_coercion() -> None:
    config = TrialConfig.from_dict({"batch_size": 32.0, "lr": 1, "max_structures": None,
                                    "lr_schedule": {"milestones": [2, 4], "gamma": 0.5}})
    assert config.batch_size == 32 and isinstance(config.batch_size, int)
    assert config.lr == 1.0 and config.dataset == "emt-adsorption" and config.seed == 0
    assert config.lr_schedule is not None and config.lr_schedule.milestones == (2, 4)


@pytest.mark.parametrize(("config", "message"), [
    ({"learning_rate": 0.1}, "unknown trial config keys \\['learning_rate'\\]; known keys: "),
    ({"batch_size": 16.5}, "batch_size must be an integer, but got 16.5"),
    ({"lr": -1.0}, "lr must be positive, but got -1.0"),
    ({"val_fraction": 1.0}, "val_fraction must be in \\(0, 1\\), but got 1.0"),
    ({"lr_schedule": {"milestones": [4, 2], "gamma": 0.5}}, "must be increasing"),
    ({"lr_schedule": {"milestones": [0], "gamma": 0.5}},
     "lr_schedule.milestones\\[\\] must be at least 1, but got 0"),
    ({"lr_schedule": {"milestones": [1], "gamma": 1.5}},
     "lr_schedule.gamma must be in \\(0, 1\\], but got 1.5"),
    ({"lr_schedule": {"milestones": [1]}}, "exactly the keys 'milestones' and 'gamma'"),
    ({"num_fc_layers": 0}, "num_fc_layers must be at least 1, but got 0"),
    ({"num_gaussians": 1}, "num_gaussians must be at least 2, but got 1"),
    ({"dataset": ""}, "dataset must be a non-empty string, but got ''"),
])
def test_bad_config_is_rejected(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrialConfig.from_dict(config)


def test_every_numeric_key_declares_a_range() -> None:
    numeric = {name for name in DECLARED if _kind(name) in ("int", "float")}
    assert numeric == set(RANGED)
    assert all(set(f.metadata) <= {"group", *BOUNDS} for f in DECLARED.values())


@pytest.mark.parametrize("name", RANGED)
def test_every_declared_bound_is_enforced(name: str) -> None:
    rules = {rule: DECLARED[name].metadata[rule] for rule in BOUNDS
             if rule in DECLARED[name].metadata}
    for rule, bound in rules.items():
        rejected = _outside(rule, bound)
        with pytest.raises(ValueError) as error:
            TrialConfig.from_dict({name: rejected})
        message = str(error.value)
        # The key, the rule (its bounds) and the rejected value, as parsed.
        assert message.startswith(f"{name} must be ")
        shown = float(rejected) if _kind(name) == "float" else rejected
        assert message.endswith(f", but got {shown}")
        assert all(str(b) in message for r, b in rules.items() if r != "above" or b != 0)
        if rule == "min":
            assert getattr(TrialConfig.from_dict({name: bound}), name) == bound
            assert check(name, bound) == bound


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_wrong_types_are_rejected_with_the_key_named(name: str) -> None:
    wrong = {"int": ["three", 2.5, True, [1]], "float": ["0.1", True, None],
             "str": [5, "", ["a"]], "LRSchedule": ["step", [1, 2]]}[_kind(name)]
    for value in wrong:
        with pytest.raises(ValueError, match=f"^{re.escape(name)} must be .*, but got "):
            TrialConfig.from_dict({name: value})


def test_defaults_are_the_declared_ones_and_meet_their_rules() -> None:
    parsed = TrialConfig.from_dict({})
    assert parsed == TrialConfig()
    for name, f in DECLARED.items():
        assert getattr(parsed, name) == f.default
        assert check(name, f.default) == f.default


def test_none_is_unset_for_strings_and_a_value_for_optional_keys() -> None:
    optional = {name for name, f in DECLARED.items() if str(f.type).endswith(" | None")}
    assert optional == {"max_structures", "lr_schedule", "device", "max_neighbors"}
    config = TrialConfig.from_dict(dict.fromkeys(optional | {"dataset", "target_key"}))
    assert all(getattr(config, name) is None for name in optional)
    assert config.dataset == TrialConfig().dataset
    assert config.target_key == TrialConfig().target_key
    with pytest.raises(ValueError, match="batch_size must be an integer, but got None"):
        TrialConfig.from_dict({"batch_size": None})


def test_paths_are_strings() -> None:
    assert TrialConfig.from_dict({"dataset": Path("/data/mine.db")}).dataset == "/data/mine.db"


def test_check_parses_one_key_by_its_declaration() -> None:
    assert check("batch_size", 16.0) == 16 and check("max_neighbors", None) is None
    assert check("lr_schedule", {"milestones": [1], "gamma": 0.1}) == LRSchedule((1,), 0.1)
    with pytest.raises(ValueError, match="unknown trial config key 'learning_rate'"):
        check("learning_rate", 0.1)


def test_every_declared_type_has_a_parser() -> None:
    assert {_kind(name) for name in DECLARED} <= set(config_module._PARSERS)


def test_groups_are_read_from_the_declaration() -> None:
    # What reconfigure rebuilds depends on these: pin them.
    assert ALGORITHM_KEYS == {"lr", "batch_size"}
    assert ARCHITECTURE_KEYS == {"atom_embedding_size", "num_graph_conv_layers", "fc_feat_size",
                                 "num_fc_layers"}
    assert DATA_KEYS == {"dataset", "target_key", "max_structures", "cutoff", "num_gaussians",
                         "max_neighbors"}
    assert SPLIT_KEYS == {"seed", "val_fraction"}
