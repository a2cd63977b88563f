"""What the status counts say happened, each case constructed on real Ray with a toy trainable.

``completed``: the trial ended by itself (its ``done``) or at a limit (maxT, the iteration cap,
a stop criterion, the campaign's end); ``stopped``: the scheduler cut it as unpromising. Each
campaign's trials are fixed by ``pointsToEvaluate``; sequential runs (a cap of 1) make ASHA's
decisions independent of timing, and HyperBand halves only once a bracket's trials are all in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator.driver.run import run_campaign
from tests.support.campaigns import campaign, exact, on_step_decay

pytestmark = pytest.mark.slow

KNOBS = ("end_at", "flat_after", "fail_at", "step_seconds")


def shaped(points: list[dict[str, Any]], scheduler: dict[str, Any], budget: dict[str, Any],
           **spec: Any) -> dict[str, Any]:
    """A ShapedCurve campaign that runs exactly ``points`` (knobs left out are 0: never)."""
    rows = [{"x": p["x"], **{k: p.get(k, 0) for k in KNOBS}} for p in points]
    space: dict[str, Any] = {"x": {"type": "float", "min": 0.0, "max": 1.0, "role": "algorithm"}}
    for knob in KNOBS:
        space[knob] = {"type": "choice", "values": sorted({r[knob] for r in rows}),
                       "role": "algorithm"}
    return {"objective": {"metric": "loss", "mode": "min"}, "searchSpace": space,
            "strategy": {"scheduler": scheduler,
                         "searcher": {"type": "random", "seed": 0, "pointsToEvaluate": rows}},
            "budget": {"trials": len(rows), **budget},
            "trainable": {"entrypoint": "tests.support.trainables:ShapedCurve"},
            "runtime": {"failFast": False}, **spec}


def run(name: str, spec: dict[str, Any], storage: Path) -> CampaignStatus:
    return run_campaign(parse_campaign(exact(name, spec)), storage, [], publish_interval=30)


def iterations_by_x(status: CampaignStatus, key: str = "x") -> dict[float, int]:
    """How many results each trial reported, by its starting ``key`` (read off Tune's trial
    directories; PBT changes a trial's config later, never its params.json)."""
    found = {}
    for trial_dir in Path(status.experiment_path).glob("*/"):
        if (trial_dir / "params.json").exists():
            x = json.loads((trial_dir / "params.json").read_text())[key]
            found[x] = len((trial_dir / "result.json").read_text().splitlines())
    return found


def assert_settled(status: CampaignStatus) -> None:
    t = status.trials
    assert t.running == t.paused == t.pending == 0, t
    assert t.total == t.completed + t.stopped + t.errored, t


def test_asha_counts_its_cuts_as_stopped_and_the_rest_as_completed(local_ray, tmp_path):
    """ASHA on a progress key other than the iteration (samples = 10 per iteration): maxT and
    the rungs are in samples. One trial reaches maxT, one ends by itself before any limit (Tune
    counted it "stopped early" before), one is cut at the first rung."""
    asha = {"type": "asha", "timeAttr": "samples", "maxT": 40, "gracePeriod": 10,
            "reductionFactor": 2}
    points = [{"x": 0.3}, {"x": 0.9}, {"x": 0.31, "end_at": 2}]
    status = run("asha-samples", shaped(points, asha, {"maxConcurrentTrials": 1}), tmp_path)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert (status.trials.total, status.trials.completed, status.trials.stopped) == (3, 2, 1)
    assert iterations_by_x(status) == {0.3: 4, 0.9: 1, 0.31: 2}  # maxT 40 samples = 4 iterations
    assert_settled(status)


def test_a_resumed_run_still_knows_which_trials_the_scheduler_stopped(local_ray, tmp_path):
    from hpo_operator.campaign.progress import CoalescingPublisher
    from hpo_operator.driver.events import CampaignProgress

    asha = {"type": "asha", "maxT": 4, "gracePeriod": 1, "reductionFactor": 2}
    points = [{"x": 0.3}, {"x": 0.9}]
    spec = shaped(points, asha, {"maxConcurrentTrials": 1})
    status = run("asha-seeded", spec, tmp_path)
    assert (status.trials.completed, status.trials.stopped) == (1, 1)
    again = CampaignProgress(parse_campaign(exact("asha-seeded", spec)).spec,
                             CoalescingPublisher([]), CampaignStatus())
    again.seed_from(Path(status.experiment_path), status)
    assert (again.status().trials.completed, again.status().trials.stopped) == (1, 1)


def test_stop_criteria_end_trials_that_count_as_completed(local_ray, tmp_path):
    """A threshold (loss <= 0.26: x = 0.3 at iteration 4), a plateau (flat from iteration 3:
    three equal results at iteration 5) and the iteration cap (8) each end one trial."""
    stop = {"thresholds": [{"metric": "loss", "threshold": 0.26}],
            "plateau": {"std": 0.01, "numResults": 3, "gracePeriod": 3}}
    points = [{"x": 0.3}, {"x": 0.9, "flat_after": 3}, {"x": 0.8}]
    spec = shaped(points, {"type": "fifo"},
                  {"maxConcurrentTrials": 2, "maxIterationsPerTrial": 8, "stop": stop})
    status = run("stop-criteria", spec, tmp_path)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert (status.trials.total, status.trials.completed, status.trials.stopped) == (3, 3, 0)
    assert iterations_by_x(status) == {0.3: 4, 0.9: 5, 0.8: 8}
    assert status.best_trial.iteration == 4


def test_reaching_the_target_stops_the_campaign(local_ray, tmp_path):
    """x = 0.3 reaches loss 0.1 at iteration 10; the trials after it never start."""
    spec = shaped([{"x": 0.3}, {"x": 0.5}, {"x": 0.6}], {"type": "fifo"},
                  {"maxConcurrentTrials": 1, "maxIterationsPerTrial": 30,
                   "stop": {"atTarget": True}},
                  objective={"metric": "loss", "mode": "min", "target": 0.1})
    status = run("at-target", spec, tmp_path)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert (status.trials.total, status.trials.completed) == (1, 1)
    assert status.time_to_target_seconds is not None
    assert 10 <= iterations_by_x(status)[0.3] <= 11  # one more step may be under way
    assert_settled(status)


def test_a_failed_campaign_leaves_no_trial_running(local_ray, tmp_path):
    """failFast: one trial raises while the other runs; Tune ends the other without a word."""
    points = [{"x": 0.9, "fail_at": 3, "step_seconds": 0.1}, {"x": 0.2, "step_seconds": 0.1}]
    spec = shaped(points, {"type": "fifo"}, {"maxConcurrentTrials": 2,
                                             "maxIterationsPerTrial": 50},
                  runtime={"failFast": True})
    status = run("fail-fast", spec, tmp_path)
    assert status.phase is Phase.FAILED and "failFast" in status.message
    assert status.trials.errored == 1 and status.trials.stopped == 0
    assert_settled(status)


def test_pbt_trials_ended_by_a_stop_criterion_are_completed(local_ray, tmp_path):
    """PBT never stops a trial itself: the cap and the threshold end them all as completed."""
    pbt = {"type": "pbt", "timeAttr": "training_iteration", "perturbationInterval": 2}
    spec = campaign("pbt-stops", on_step_decay(pbt, seed=0))["spec"]
    spec["strategy"]["searcher"]["pointsToEvaluate"] = [{"lr": lr} for lr in
                                                        (0.1, 0.01, 0.001, 0.0001)]
    spec["budget"]["maxIterationsPerTrial"] = 9
    spec["budget"]["stop"] = {"thresholds": [{"metric": "loss", "threshold": 0.3}]}
    status = run("pbt-stops", spec, tmp_path)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert (status.trials.total, status.trials.completed, status.trials.stopped) == (4, 4, 0)
    # lr 0.1 is the best from the start (0.7 per step: below 0.3 at iteration 4), so PBT never
    # pauses it to exploit another: all its results are in its trial directory.
    assert iterations_by_x(status, "lr")[0.1] == 4
