"""The time-to-solution study's summary (benchmarks/time_to_solution.py), on hand-made histories:
per-seed reference levels, ratios against RS, which way a budget-credited ratio is biased, the
paired bootstrap intervals and the claims they allow, and the regime grid's summary and figure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hpo_operator.campaign.analysis import CampaignHistory, TrialHistory

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import time_to_solution as study  # noqa: E402
import tts_summary  # noqa: E402

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


def seeds_of(*pairs: tuple[float, float]) -> dict[str, list[CampaignHistory]]:
    """RS and ASHA/RS, one seed per (RS time, ASHA/RS time), each reaching the same level."""
    return {"RS": [history((rs, 1.0)) for rs, _ in pairs],
            "ASHA/RS": [history((asha, 1.0)) for _, asha in pairs]}


def test_the_bootstrap_is_paired_over_seeds() -> None:
    # Very different times per seed, the same 2x in each: pairing leaves no doubt about 2x.
    summary = study.summarise(seeds_of((40, 20), (80, 40), (20, 10)), tolerance=0.05,
                              budget_s=BUDGET, top_k=1)
    asha = summary["strategies"]["ASHA/RS"]
    assert asha["tts_speedup_per_seed"] == pytest.approx([2.0, 2.0, 2.0], abs=0.05)
    assert asha["tts_speedup_interval"] == pytest.approx([2.0, 2.0], abs=0.05)
    assert asha["tts_claim"] == "faster"
    assert summary["strategies"]["RS"]["tts_speedup_interval"] is None
    assert summary["bootstrap"] == {"resamples": 10_000, "level": 0.95, "rng_seed": 0,
                                    "paired_over": "seeds"}


def test_the_bootstrap_interval_is_deterministic_and_spans_disagreeing_seeds() -> None:
    # Three seeds: each drawn three times has probability 1/27 > 2.5 %, so the 95 % interval
    # runs from the lowest to the highest per-seed ratio.
    assert tts_summary.bootstrap_interval([0.5, 2.0, 4.0]) == pytest.approx((0.5, 4.0))
    assert tts_summary.bootstrap_interval([1.19, 0.52]) == pytest.approx((0.52, 1.19))
    ten = [1.5, 2.0, 2.5, 3.0, 1.8, 2.2, 2.7, 1.6, 2.9, 2.1]
    first = tts_summary.bootstrap_interval(ten)
    assert first == tts_summary.bootstrap_interval(ten)  # a fixed RNG seed: the same every time
    assert 1.5 < first[0] < 2.2 < first[1] < 3.0
    assert tts_summary.bootstrap_interval([3.0]) is None


def test_a_ratio_is_claimed_only_when_its_interval_excludes_one() -> None:
    assert tts_summary.claim((1.2, 3.0)) == "faster"
    assert tts_summary.claim((0.2, 0.9)) == "slower"
    assert tts_summary.claim((0.5, 1.19)) == "not established"
    assert tts_summary.claim(None) == "one seed: no interval"
    summary = study.summarise(seeds_of((40, 20), (20, 40), (30, 30)), tolerance=0.05,
                              budget_s=BUDGET, top_k=1)
    assert summary["strategies"]["ASHA/RS"]["tts_claim"] == "not established"


def test_within_a_seed_every_strategy_is_measured_by_the_same_k() -> None:
    # Seed 0: both have six trials, the guide's top 6. Seed 1: ASHA/RS had only two trials with
    # results, so both are measured by their top 2, which RS has first (at 20 s).
    six = [(10 * i, 1.0) for i in range(1, 7)]
    runs = {"RS": [history(*six), history((10, 1.0), (20, 1.0), (80, 3.0))],
            "ASHA/RS": [history(*six), history((15, 1.0), (30, 1.0))],
            "PBT": [history((5, 1.0), (6, 1.0), (7, 1.0), (8, 1.0))] * 2}
    summary = study.summarise(runs, tolerance=0.05, budget_s=BUDGET)
    assert summary["top_k_per_seed"] == [6, 2]  # PBT's four trials lower neither
    assert summary["reference_top_k_mean_per_seed"] == [1.0, 1.0]
    rs, asha = summary["strategies"]["RS"], summary["strategies"]["ASHA/RS"]
    assert rs["time_to_solution_s"] == [pytest.approx(60, abs=0.5), pytest.approx(20, abs=0.5)]
    assert asha["time_to_solution_s"][1] == pytest.approx(30, abs=0.5)
    assert asha["tts_speedup_per_seed"][1] == pytest.approx(2 / 3, rel=0.03)
    # The stated top-6 mean is still the guide's, flagged where it averages fewer.
    assert rs["final_top6_n"] == [6, 3] and asha["final_top6_n"] == [6, 2]


def test_a_top_k_mean_of_fewer_trials_is_flagged_in_the_table(capsys) -> None:
    runs = {"RS": [history(*[(10 * i, 1.0) for i in range(1, 8)])],
            "PBT": [history((10, 0.5), (20, 0.6), (30, 0.7), (40, 0.8))]}
    summary = study.summarise(runs, tolerance=0.05, budget_s=BUDGET)  # the guide's top 6
    pbt, rs = summary["strategies"]["PBT"], summary["strategies"]["RS"]
    assert pbt["final_top6_n"] == [4] and pbt["top_k_complete"] is False
    assert rs["final_top6_n"] == [6] and rs["top_k_complete"] is True
    assert tts_summary.top_k_text(pbt) == "0.6500 (n=4)"
    assert tts_summary.top_k_text(rs) == "1.0000"
    study.print_table(summary, BUDGET, 0.05)
    out = capsys.readouterr().out
    assert "0.6500 (n=4)" in out and "one seed: no interval" in out


def test_the_guide_space_is_the_default_and_is_the_guides_domain() -> None:
    assert study.parse_args([]).space == "guide" and study.SEEDS >= 3
    space = study.manifest("x", study.strategies(0)["RS"], 1.0, 0)["spec"]["searchSpace"]
    assert {k: (v["min"], v["max"]) for k, v in space.items() if k != "batch_size"} == {
        "atom_embedding_size": (1, 100), "num_graph_conv_layers": (1, 40),
        "fc_feat_size": (1, 150), "num_fc_layers": (1, 40), "lr": (0.001, 0.1)}
    compact = study.manifest("x", study.strategies(0, space="compact")["RS"], 1.0, 0,
                             space="compact")["spec"]["searchSpace"]
    assert compact["num_graph_conv_layers"]["max"] == 4


def test_the_grid_summarises_and_draws_the_ratio_over_its_cells(tmp_path: Path) -> None:
    import tts_grid

    cells = {("compact", 4): seeds_of((40, 80), (50, 90), (30, 70)),   # RS sooner
             ("compact", 36): seeds_of((80, 20), (90, 30), (70, 20)),  # ASHA/RS sooner
             ("guide", 4): seeds_of((40, 40), (30, 60), (60, 30))}     # no telling
    rows = tts_grid.summarise_grid(cells, tolerance=0.05, top_k=1)
    by_cell = {(r["space"], r["max_t"]): r for r in rows}
    assert by_cell[("compact", 4)]["tts_claim"] == "slower"
    assert by_cell[("compact", 36)]["tts_claim"] == "faster"
    assert by_cell[("guide", 4)]["tts_claim"] == "not established"
    assert by_cell[("compact", 36)]["tts_speedup_vs_rs"] == pytest.approx(
        (4 * 3 * 3.5) ** (1 / 3), rel=0.03)
    figure = tts_grid.plot_grid(rows, tmp_path / "grid.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(tts_grid.cells()) == 6 and tts_grid.GRID_STRATEGIES == ("RS", "ASHA/RS")


def test_the_grid_shares_a_total_budget_among_its_campaigns() -> None:
    import tts_grid

    args = study.parse_args(["--grid", "--budget-min", "72"])
    assert tts_grid.campaign_minutes(args, seeds=3) == pytest.approx(2.0)  # 6 x 2 x 3 campaigns
    assert tts_grid.campaign_minutes(study.parse_args(["--grid", "--minutes", "5"]), 3) == 5


def test_async_hyperband_gets_only_brackets_with_a_rung_below_max_t() -> None:
    assert [study._brackets(t) for t in (2, 4, 12, 36)] == [1, 2, 3, 3]
    ahb = study.strategies(0, max_t=4)["AHB/RS"]["strategy"]["scheduler"]
    assert ahb["brackets"] == 2  # rungs at 1 and 3 epochs; a third bracket would have none
