"""Every manifest in examples/ passes ``hpo validate``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo_operator.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.y*ml"))


def test_there_are_examples_for_the_strategies():
    text = " ".join(p.read_text() for p in EXAMPLES)
    for kind in ("type: optuna", "type: bohb", "type: pbt", "type: pb2", "type: dragonfly",
                 "type: hyperopt", "type: nevergrad"):
        assert kind in text


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_is_valid(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
