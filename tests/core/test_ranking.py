"""Ranking by the objective, one definition for min and max."""

from __future__ import annotations

import pytest

from hpo_operator.campaign import ranking
from hpo_operator.campaign.status import TrialSummary


def trial(tid: str, metric: float) -> TrialSummary:
    return TrialSummary(id=tid, config={}, metric=metric, iteration=1)


@pytest.mark.parametrize("mode, order", [("min", ["b", "c", "a"]), ("max", ["a", "c", "b"])])
def test_top_trials_are_distinct_best_first_at_their_best(mode: str, order: list[str]) -> None:
    trials = [trial("a", 3.0), trial("b", 1.0), trial("c", 2.0), trial("b", 0.5 if mode == "min"
              else -1.0), trial("a", 4.0 if mode == "max" else 5.0)]
    top = ranking.top_trials(trials, mode, k=3)
    assert [t.id for t in top] == order
    assert top[0].metric == (0.5 if mode == "min" else 4.0)


def test_better_and_best_follow_the_mode() -> None:
    assert ranking.better(1, 2, "min") and not ranking.better(1, 2, "max")
    assert not ranking.better(2, 2, "min")  # strictly
    assert ranking.best([3, 1, 2], "min") == 1 and ranking.best([3, 1, 2], "max") == 3


def test_an_unknown_mode_is_an_error_not_a_default() -> None:
    with pytest.raises(ValueError, match="'min' or 'max'"):
        ranking.sign("minimise")
