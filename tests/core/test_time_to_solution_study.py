"""The time-to-solution study's summary (benchmarks/time_to_solution.py), on hand-made histories:
per-seed reference levels, ratios against RS, and which way a budget-credited ratio is biased."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hpo_operator.campaign.analysis import CampaignHistory, TrialHistory

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import time_to_solution as study  # noqa: E402

BUDGET = 100.0


def history(*trials: tuple[float, float]) -> CampaignHistory:
    """A campaign whose trial i reports one value at one time."""
    h = CampaignHistory(name="c", mode="min", metric="val_mae")
    h.trials = [TrialHistory(str(i), [t], [v], t) for i, (t, v) in enumerate(trials)]
    return h


def test_reference_is_per_seed_and_ratios_are_against_rs() -> None:
    runs = {  # top_k=1 below: the best trial so far
        "RS": [history((40, 1.0)), history((50, 2.0))],
        "ASHA/RS": [history((20, 1.0)), history((25, 2.0))],
    }
    summary = study.summarise(runs, tolerance=0.05, budget_s=BUDGET, top_k=1)
    # Seed 1's level is 2.0, not the 1.0 of seed 0: otherwise nothing would reach it there.
    assert summary["reference_top_k_mean_per_seed"] == [1.0, 2.0]
    asha = summary["strategies"]["ASHA/RS"]
    assert asha["time_to_solution_s"] == [pytest.approx(20, abs=0.5), pytest.approx(25, abs=0.5)]
    assert asha["tts_speedup_vs_rs"] == pytest.approx(2.0, rel=0.03)
    assert asha["tts_speedup_bound"] is None and asha["reached"] == "2/2"
    assert asha["trials_ratio_vs_rs"] == 1.0


def test_a_strategy_that_never_gets_there_has_an_upper_bound_and_rs_missing_a_lower_one() -> None:
    runs = {
        "RS": [history((50, 1.0)), history((90, 3.0))],
        "ASHA/RS": [history((90, 3.0)), history((10, 1.0))],
    }
    summary = study.summarise(runs, tolerance=0.05, budget_s=BUDGET, top_k=1)
    asha = summary["strategies"]["ASHA/RS"]
    assert asha["reached"] == "1/2" and asha["time_to_solution_s"][0] is None
    assert asha["tts_speedup_bound"] == "mixed"  # seed 0 biased up, seed 1 down
    assert study._bound([50.0], [None]) == "upper"
    assert study._bound([None], [50.0]) == "lower"
    assert study._bound([None], [None]) == "mixed"
    assert study._bound([50.0], [20.0]) is None
    assert summary["strategies"]["RS"]["tts_speedup_bound"] is None


def test_pbt_does_not_set_the_level() -> None:
    runs = {"RS": [history((50, 1.0))], "PBT": [history((10, 0.1))]}
    summary = study.summarise(runs, tolerance=0.05, budget_s=BUDGET, top_k=1)
    assert summary["reference_top_k_mean_per_seed"] == [1.0]
    assert summary["strategies"]["PBT"]["time_to_solution_s"][0] == pytest.approx(10, abs=0.5)
