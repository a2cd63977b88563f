"""Schedule extraction and the MultiStepLR fit, on hand-made PBT lineages (no Ray needed)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from hpo_operator.campaign.multistep import fit_multistep, multistep_rates
from hpo_operator.campaign.schedule import (
    LINEAGE_FILE,
    SCHEDULE_FILE,
    TUNE_POLICY_FILE,
    Exploit,
    lineage_segments,
    per_iteration,
    schedule_hook,
)
from hpo_operator.campaign.status import CampaignStatus, TrialSummary
from hpo_operator.cli import main

from tests.support.campaigns import on_step_decay, parsed


def test_fit_recovers_a_multistep_schedule_and_ignores_explore_noise():
    exact = [0.1] * 8 + [0.01] * 8 + [0.001] * 8
    fit = fit_multistep(exact)
    assert fit.milestones == (8, 16) and fit.gamma == pytest.approx(0.1)
    assert multistep_rates(fit, 24) == pytest.approx(exact)
    rng = random.Random(0)
    noisy = [r * rng.choice([0.8, 1.0, 1.2]) for r in exact]
    fit = fit_multistep(noisy)
    assert fit.milestones == (8, 16) and 0.07 < fit.gamma < 0.14
    assert fit_multistep([0.01] * 5).milestones == ()
    assert fit_multistep([]) is None and fit_multistep([0.1, 0.0]) is None


def test_lineage_switches_to_the_clone_at_the_checkpoint_iteration():
    # b runs 1..4 with 0.1; a clones b at 4 -> 0.01; c clones a at 8 -> 0.001; then b is
    # overwritten later (an exploit after c's clone of a: not part of c's lineage).
    exploits = [Exploit("a", "b", 4, {"lr": 0.1}, {"lr": 0.01}),
                Exploit("c", "a", 8, {"lr": 0.01}, {"lr": 0.001}),
                Exploit("b", "c", 10, {"lr": 0.001}, {"lr": 1.0})]
    segments = lineage_segments(exploits, "c", {"lr": 0.001})
    assert segments == [(1, {"lr": 0.1}), (5, {"lr": 0.01}), (9, {"lr": 0.001})]
    assert lineage_segments(exploits, "d", {"lr": 0.5}) == [(1, {"lr": 0.5})]
    # a trial cloned at an iteration before its own last restore keeps only what it had then
    late = [Exploit("a", "b", 6, {"lr": 0.1}, {"lr": 0.01}),
            Exploit("c", "a", 4, {"lr": 0.1}, {"lr": 0.3})]
    assert lineage_segments(late, "c", {"lr": 0.3}) == [(1, {"lr": 0.1}), (5, {"lr": 0.3})]


def _pbt_experiment(tmp_path: Path, own_log: bool) -> tuple[Path, TrialSummary]:
    exp = tmp_path / "pbt"
    exp.mkdir()
    if own_log:
        rows = [{"trial": "x_00001", "clone": "x_00000", "iteration": 8,
                 "cloneConfig": {"lr": 0.1}, "config": {"lr": 0.01}},
                {"trial": "x_00000", "clone": "x_00001", "iteration": 16,
                 "cloneConfig": {"lr": 0.01}, "config": {"lr": 0.001}}]
        (exp / LINEAGE_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:  # Tune's own log: tags, and the clone's last reported iteration
        rows = [["1_lr=0.0001", "0_lr=0.1000", 8, 8, {"lr": 0.1}, {"lr": 0.01}],
                ["0_lr=0.1000", "1_lr=0.0001", 16, 16, {"lr": 0.01}, {"lr": 0.001}]]
        (exp / TUNE_POLICY_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return exp, TrialSummary(id="x_00000", config={"lr": 0.001}, metric=0.1, iteration=24)


@pytest.mark.parametrize("own_log", [True, False])
def test_hook_writes_the_schedule_and_the_cli_prints_it(own_log, tmp_path, capsys):
    exp, best = _pbt_experiment(tmp_path, own_log)
    pbt = {"type": "pbt", "timeAttr": "training_iteration", "perturbationInterval": 4}
    spec = parsed("p", on_step_decay(pbt, 0)).spec
    schedule = schedule_hook(spec, str(exp), best)
    assert schedule is not None and (exp / SCHEDULE_FILE).exists()
    assert schedule.params["lr"] == [[1, 0.1], [9, 0.01], [17, 0.001]]
    assert per_iteration(schedule.params["lr"], 24)[7:9] == [0.1, 0.01]
    assert schedule.lr_schedule.milestones == [8, 16]
    assert schedule.lr_schedule.gamma == pytest.approx(0.1)
    status = tmp_path / "status.json"
    status.write_text(json.dumps(CampaignStatus(experiment_path=str(exp),
                                                schedule=schedule).to_dict()))
    for source in (exp, status):
        assert main(["schedule", str(source)]) == 0
        out = capsys.readouterr().out
        assert "lr: 0.1\nlr_schedule:\n  milestones: [8, 16]\n  gamma: 0.1" in out


def test_no_schedule_for_other_schedulers(tmp_path, capsys):
    spec = parsed("p", on_step_decay({"type": "fifo"}, 0)).spec
    best = TrialSummary(id="x_00000", config={"lr": 0.1}, metric=0.1, iteration=24)
    assert schedule_hook(spec, str(tmp_path), best) is None
    assert main(["schedule", str(tmp_path)]) == 1
    assert "only PBT and PB2" in capsys.readouterr().err
