"""Searchers of our own reach make_searcher through the registry that hpo_operator.searchers fills."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpo_operator.campaign import registry, strategies
from hpo_operator.campaign.strategies import make_searcher
from tests.support.campaigns import on_bowl, parsed

POINT = {"lr": 0.01, "width": 8, "dropout": 0.1, "activation": "relu"}


def dragonfly_spec():
    return parsed("t", on_bowl({"type": "fifo"}, {"type": "dragonfly", "seed": 4,
                                                  "pointsToEvaluate": [POINT]})).spec


def test_dragonfly_is_built_once_the_searchers_are_imported():
    import hpo_operator.searchers  # noqa: F401
    from hpo_operator.searchers.dragonfly import DragonflySearcher

    searcher = make_searcher(dragonfly_spec())
    assert isinstance(searcher, DragonflySearcher)
    assert searcher.metric == "loss" and searcher.mode == "min"
    assert searcher._to_evaluate == [POINT]


def test_a_plugin_that_is_not_loaded_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(registry, "_factories", {})
    with pytest.raises(registry.SearcherNotRegistered,
                       match="'dragonfly' is a valid spec.strategy.searcher.type.*"
                             "import hpo_operator.searchers"):
        make_searcher(dragonfly_spec())


def test_a_plugin_whose_library_is_missing_names_what_to_install(monkeypatch):
    def missing(spec, points):
        raise ImportError("No module named 'dragonfly'")

    monkeypatch.setattr(registry, "_factories", {})
    registry.register_searcher("dragonfly", missing)
    with pytest.raises(strategies.StrategyUnavailable,
                       match=r"searcher dragonfly cannot be loaded here \(No module named "
                             r"'dragonfly'\); install it with: the dragonfly extra"):
        make_searcher(dragonfly_spec())


def test_only_searcher_types_of_the_spec_register(monkeypatch):
    monkeypatch.setattr(registry, "_factories", {})
    with pytest.raises(ValueError, match="'skopt' is not a searcher type of the spec"):
        registry.register_searcher("skopt", lambda spec, points: None)
    assert registry.searcher_types() == {"random", "grid", "optuna", "bohb", "dragonfly",
                                         "hyperopt", "nevergrad"}


def test_registering_imports_neither_ray_nor_dragonfly():
    code = ("import sys, hpo_operator.searchers as s\n"
            "from hpo_operator.campaign import registry\n"
            "assert registry.searcher_factory('dragonfly') is s._dragonfly\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'dragonfly'))\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_importing_the_campaign_core_registers_nothing():
    code = ("import importlib, pkgutil, hpo_operator.campaign as c\n"
            "from hpo_operator.campaign import registry\n"
            "for m in pkgutil.iter_modules(c.__path__):\n"
            "    importlib.import_module('hpo_operator.campaign.' + m.name)\n"
            "assert not registry._factories, registry._factories\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
