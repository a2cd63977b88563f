"""Time-to-solution analysis and `hpo report`, on experiment directories written by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpo_operator.campaign.analysis import (
    CampaignHistory,
    TopKMean,
    TrialHistory,
    final_top_k_mean,
    load_history,
    reference_level,
    shared_reference,
    shared_top_k,
    time_to_solution,
    top_k_curve,
)
from hpo_operator.campaign.status import CampaignStatus, Phase

T0 = 1_800_000_000


def experiment(root: Path, name: str, trials: dict[str, list[tuple[float, float]]],
               phase: Phase = Phase.SUCCEEDED) -> Path:
    """A campaign directory as the driver leaves it: status, manifest, one result log per trial."""
    exp = root / name
    exp.mkdir(parents=True)
    status = CampaignStatus(phase=phase, experiment_path=str(exp))
    (exp / "campaign-status.json").write_text(json.dumps(status.to_dict()))
    (exp / "campaign.json").write_text(json.dumps({
        "metadata": {"name": name}, "spec": {"objective": {"metric": "mae", "mode": "min"}}}))
    for trial_id, points in trials.items():
        (exp / trial_id).mkdir()
        start = points[0][0] - 1
        rows = [{"trial_id": trial_id, "timestamp": T0 + t, "time_total_s": t - start, "mae": v}
                for t, v in points]
        (exp / trial_id / "result.json").write_text("\n".join(json.dumps(r) for r in rows))
    return exp


def test_top_k_curve_follows_each_trials_best_so_far(tmp_path):
    exp = experiment(tmp_path, "a", {"t1": [(1, 5.0), (2, 3.0), (3, 4.0)],
                                      "t2": [(2, 2.0), (4, 1.0)]})
    history = load_history(exp)
    mean, _, finished, n = top_k_curve(history, np.array([0.0, 1.0, 2.0, 3.0, 4.0]), top_k=2)
    # origin is t1's start (t=0); best so far: t1 -,5,3,3,3 ; t2 -,-,2,2,1
    assert np.isnan(mean[0]) and n[0] == 0
    # At t=1 only t1 has a result: the mean of those there, flagged by n = 1 < top_k.
    assert mean[1:].tolist() == [5.0, 2.5, 2.5, 2.0]
    assert n.tolist() == [0, 1, 2, 2, 2]
    assert finished.tolist() == [0, 0, 0, 1, 2]


def test_time_to_solution_against_the_best_level_reached(tmp_path):
    fast = load_history(experiment(tmp_path, "fast", {"a": [(1, 1.0)], "b": [(2, 1.0)]}))
    slow = load_history(experiment(tmp_path, "slow", {"a": [(1, 3.0), (9, 1.02)],
                                                       "b": [(2, 3.0), (10, 1.0)]}))
    reference = reference_level([fast, slow], top_k=2)
    assert reference == pytest.approx(1.0)
    assert time_to_solution(fast, reference, 0.05, top_k=2) == pytest.approx(2.0, abs=0.1)
    assert time_to_solution(slow, reference, 0.05, top_k=2) == pytest.approx(10.0, abs=0.1)


def history(*trials: list[tuple[float, float]]) -> CampaignHistory:
    """A campaign whose trial i reports the (time, value) points trials[i]."""
    h = CampaignHistory(name="c", mode="min", metric="mae")
    h.trials = [TrialHistory(str(i), [t for t, _ in p], [v for _, v in p], p[-1][0])
                for i, p in enumerate(trials)]
    return h


def test_the_final_mean_of_fewer_trials_than_top_k_is_flagged():
    few = final_top_k_mean(history([(1, 1.0)], [(2, 3.0)]), top_k=6)
    assert few == TopKMean(2.0, n=2, top_k=6) and not few.complete
    assert few.shown() == "2.0000 (n=2)"
    full = final_top_k_mean(history(*[[(i, float(i))] for i in range(1, 8)]), top_k=6)
    assert full == TopKMean(3.5, n=6, top_k=6) and full.complete and full.shown() == "3.5000"
    assert final_top_k_mean(history(), top_k=6) is None


def test_a_mean_of_fewer_trials_never_sets_the_level_while_a_complete_one_exists():
    complete = history([(1, 2.0)], [(2, 2.0)])
    lucky = history([(1, 0.5)])  # one trial: the easiest "top-2 mean" there is
    assert reference_level([complete, lucky], top_k=2) == 2.0
    assert reference_level([lucky], top_k=2) == 0.5  # nothing complete: the best there is


def test_time_to_solution_waits_for_a_mean_of_top_k_trials():
    # A lucky first trial at t=1 is at the level alone; the top-2 mean gets there at t=5 only.
    h = history([(1, 1.0)], [(3, 4.0), (5, 1.0)])
    assert time_to_solution(h, 1.0, 0.05, top_k=2) == pytest.approx(5.0, abs=0.05)
    # A campaign that never had top_k trials is judged on all of its trials.
    assert time_to_solution(history([(1, 1.0)], [(4, 1.0)]), 1.0, 0.05,
                            top_k=6) == pytest.approx(4.0, abs=0.05)


def test_diverged_results_are_not_measurements(tmp_path):
    exp = experiment(tmp_path, "d", {"ok": [(1, 0.5)], "bad": [(1, 1.0e6)]})
    rows = (exp / "bad" / "result.json").read_text().splitlines()
    (exp / "bad" / "result.json").write_text(
        "\n".join(json.dumps({**json.loads(r), "diverged": True}) for r in rows))
    h = load_history(exp)
    assert [t.trial_id for t in h.trials] == ["ok"]


def test_report_command_prints_the_table_and_writes_the_figure(tmp_path):
    a = experiment(tmp_path, "asha", {f"t{i}": [(i, 1.0 + i / 10)] for i in range(1, 8)})
    b = experiment(tmp_path, "random", {"t1": [(1, 3.0), (20, 2.0)]})
    out = tmp_path / "fig.png"
    result = subprocess.run([sys.executable, "-m", "hpo_operator", "report", str(a / "campaign-status.json"),
                             "--compare", str(b), "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = {ln.split()[0]: ln for ln in result.stdout.splitlines() if ln.strip()}
    assert "not reached" in lines["random"] and " s" in lines["asha"]


def report(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpo_operator", "report", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_report_says_what_is_wrong_with_a_bad_path(tmp_path):
    result = report(str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "not a campaign directory" in result.stderr


def test_report_names_what_it_expected_instead_of_a_parser_error(tmp_path):
    (tmp_path / "campaign.yaml").write_text("apiVersion: hpo.dev/v1alpha1\nkind: HPOCampaign\n")
    half = experiment(tmp_path, "half", {"t1": [(1, 1.0)]})
    (half / "campaign.json").unlink()
    for path, what in (("campaign.yaml", "looks like a manifest"),
                       ("half", "holds no campaign.json"),
                       ("missing", "no such file or directory")):
        result = report(path, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"hpo report: {path}")
        assert what in lines[0]
        assert "a campaign status JSON file" in lines[0] and "written by hpo run" in lines[0]


def test_report_refuses_an_unknown_figure_format_before_any_work(tmp_path):
    a = experiment(tmp_path, "a", {"t1": [(1, 1.0)]})
    result = report(str(a), "-o", "r.xyz", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # no table printed before the refusal
    assert result.stderr.startswith("hpo report: cannot write a figure as r.xyz")
    assert "png" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.xyz").exists()


def test_report_notes_campaigns_that_are_not_comparable(tmp_path):
    full = experiment(tmp_path, "full", {f"t{i}": [(i, 1.0 + i / 10)] for i in range(1, 4)})
    few = experiment(tmp_path, "few", {"t1": [(1, 0.5)], "t2": [(2, 0.6)]}, phase=Phase.RUNNING)
    result = report(str(full), "--compare", str(few), "--top-k", "3", "-o", "fig.svg",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fig.svg").read_text().lstrip().startswith("<?xml")
    lines = {ln.split()[0]: ln for ln in result.stdout.splitlines() if ln.strip()}
    assert "note" in lines["campaign"] and "top-3 mean" in lines["campaign"]
    # "few" had two trials, so both are measured by their top 2: few's 0.55 (at 2 s) against
    # full's 1.15, which never gets there. Three trials, finished: nothing to note for "full".
    assert "1.2000" in lines["full"] and lines["full"].endswith("not reached")
    assert "0.5500 (n=2)" in lines["few"] and " 2 s " in lines["few"]
    assert lines["few"].endswith("unfinished (Running); 2 trials < top 3: mean of 2")
    assert "top 2, not 3: a campaign had only 2 trials with results" in result.stdout


def test_campaigns_with_fewer_trials_than_top_k_are_all_measured_by_the_same_k():
    # "three" has the better top 2 by t=2; "two" ran one trial fewer and has its top 2 at t=3.
    three = history([(1, 1.0)], [(2, 1.0)], [(10, 5.0)])
    two = history([(1, 1.0)], [(3, 1.0)])
    none = history()
    assert shared_top_k([three, two, none], top_k=6) == 2  # no results: left out, never there
    assert shared_top_k([three], top_k=2) == 2
    with pytest.raises(ValueError, match="no campaign has results"):
        shared_top_k([none])
    k, reference = shared_reference([three, two])
    assert (k, reference) == (2, 1.0) and reference_level([three, two], k) == reference
    assert time_to_solution(three, reference, 0.05, k) == pytest.approx(2.0, abs=0.05)
    assert time_to_solution(two, reference, 0.05, k) == pytest.approx(3.0, abs=0.05)
    # Each by its own count, "three" would need its third trial (a top-3 mean of 2.33) and
    # never get there, while "two" would: running fewer trials would win.
    assert time_to_solution(three, 1.0, 0.05, top_k=6) is None
    assert time_to_solution(two, 1.0, 0.05, top_k=6) == pytest.approx(3.0, abs=0.05)
