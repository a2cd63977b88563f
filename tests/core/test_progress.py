"""The progress tracker (pure) and the coalescing publisher."""

from __future__ import annotations

import json
import random

from hpo_operator.campaign.progress import CampaignTracker, CoalescingPublisher, JsonFileSink
from hpo_operator.campaign.spec import Objective
from hpo_operator.campaign.status import CampaignStatus, Phase


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_best_trial_follows_the_objective_mode():
    for mode, expected in (("min", "b"), ("max", "a")):
        tracker = CampaignTracker(Objective(metric="m", mode=mode))
        tracker.trial_result("a", {"x": 1}, {"m": 5.0, "training_iteration": 1})
        tracker.trial_result("b", {"x": 2}, {"m": 1.0, "training_iteration": 2})
        status = tracker.snapshot()
        assert status.best_trial.id == expected
    assert status.best_trial.config == {"x": 1} and status.best_trial.iteration == 1


def test_best_is_the_best_value_ever_reported_with_its_iteration():
    tracker = CampaignTracker(Objective(metric="m", mode="min"))
    for it, value in enumerate([3.0, 1.0, 2.0], start=1):
        tracker.trial_result("a", {}, {"m": value, "training_iteration": it})
    best = tracker.snapshot().best_trial
    assert (best.metric, best.iteration) == (1.0, 2)


def test_best_trial_config_is_the_one_its_best_result_came_from():
    """PBT changes a trial's config mid-run: the best result keeps the config that made it."""
    tracker = CampaignTracker(Objective(metric="m", mode="min"))
    tracker.trial_result("a", {"lr": 0.1}, {"m": 1.0, "training_iteration": 1})
    tracker.trial_result("a", {"lr": 0.05}, {"m": 2.0, "training_iteration": 2})
    best = tracker.snapshot().best_trial
    assert (best.config, best.metric, best.iteration) == ({"lr": 0.1}, 1.0, 1)


def test_completed_versus_stopped_early_versus_errored():
    """Stopped: the scheduler cut the trial. Completed: it ended any other way, by itself (its
    ``done``) before any limit, at the iteration cap or by a stop criterion."""
    tracker = CampaignTracker(Objective(metric="m", mode="min"))
    for tid, last in (("full", 4), ("own-done", 2), ("cut", 1)):
        for it in range(1, last + 1):
            tracker.trial_result(tid, {}, {"m": 1.0, "training_iteration": it, "done": it == last})
        if tid == "cut":
            tracker.trial_stopped_early(tid)
        tracker.trial_completed(tid, {"training_iteration": last, "done": True})
    tracker.trial_state("waiting", "PENDING")
    tracker.trial_state("going", "RUNNING")
    tracker.trial_errored("bad", "ValueError: nope")
    counts = tracker.snapshot().trials
    assert (counts.total, counts.completed, counts.stopped, counts.errored, counts.pending,
            counts.running) == (6, 2, 1, 1, 1, 1)
    assert tracker.errors() == [("bad", "ValueError: nope")]


def test_whether_a_trial_errored_is_known_without_reading_every_record():
    """failFast asks after every step of Tune's loop: the answer is a counter, not a scan."""
    tracker = CampaignTracker(Objective(metric="m", mode="min"))
    for i in range(100):
        tracker.trial_result(f"t{i}", {}, {"m": 1.0, "training_iteration": 1})
    assert not tracker.has_errors() and tracker.errors() == []
    tracker.trial_errored("t7", "")  # an error without a message is an error all the same
    tracker.trial_errored("t7", "RuntimeError: again")  # Tune may announce it twice
    assert tracker.has_errors() and tracker.errors() == [("t7", "RuntimeError: again")]


def test_a_campaign_that_ended_leaves_no_trial_running_or_waiting():
    """Tune ends the trials left when a campaign stops (time limit, target, failFast) without
    telling the callbacks: they ended at a stop limit. One that never started is not counted."""
    tracker = CampaignTracker(Objective(metric="m", mode="min"))
    tracker.trial_result("running", {}, {"m": 1.0, "training_iteration": 3})
    tracker.trial_result("paused", {}, {"m": 2.0, "training_iteration": 2})
    tracker.trial_state("paused", "PAUSED")
    tracker.trial_result("resumable", {}, {"m": 2.0, "training_iteration": 1})
    tracker.trial_state("resumable", "PENDING")
    tracker.trial_state("never-started", "PENDING")
    tracker.trial_result("cut", {}, {"m": 5.0, "training_iteration": 1})
    tracker.trial_stopped_early("cut")
    tracker.trial_completed("cut")
    tracker.trial_errored("bad", "ValueError: nope")
    tracker.settle()
    counts = tracker.snapshot().trials
    assert (counts.total, counts.completed, counts.stopped, counts.errored) == (5, 3, 1, 1)
    assert counts.running == counts.paused == counts.pending == 0


def test_missing_nan_or_infinite_metric_is_not_a_best_trial():
    for mode in ("min", "max"):
        tracker = CampaignTracker(Objective(metric="m", mode=mode))
        assert tracker.trial_result("a", {}, {"other": 1.0}) is False
        assert tracker.trial_result("b", {}, {"m": float("nan")}) is False
        assert tracker.trial_result("c", {}, {"m": float("-inf")}) is False
        assert tracker.trial_result("d", {}, {"m": float("inf")}) is False
        assert tracker.snapshot().best_trial is None
        assert tracker.results_processed == 4
        # The status must stay valid JSON for the API server, which has no Infinity.
        json.loads(json.dumps(tracker.snapshot().to_dict(), allow_nan=False))


def test_a_resumed_tracker_goes_on_with_the_earlier_clock_and_time_to_target():
    clock = Clock()
    tracker = CampaignTracker(Objective(metric="m", mode="min", target=1.0), clock=clock)
    tracker.trial_result("a", {}, {"m": 0.5, "training_iteration": 1})  # replayed history
    tracker.carry_over(elapsed_before=40.0, time_to_target=12.5)
    clock.now = 5.0
    status = tracker.snapshot()
    assert status.elapsed_seconds == 45.0
    assert status.time_to_target_seconds == 12.5


def test_status_stays_bounded_however_many_trials():
    tracker = CampaignTracker(Objective(metric="m", mode="max"))
    for i in range(10_000):
        tracker.trial_result(f"t{i}", {"i": i}, {"m": float(i), "training_iteration": 1})
        tracker.trial_completed(f"t{i}", {"training_iteration": 1})
    status = tracker.snapshot()
    assert [t.id for t in status.top_trials] == ["t9999", "t9998", "t9997", "t9996", "t9995"]
    assert status.trials.completed == 10_000
    assert len(json.dumps(status.to_dict())) < 4000


def test_time_to_target_is_recorded_once():
    clock = Clock()
    tracker = CampaignTracker(Objective(metric="m", mode="min", target=0.5), clock=clock)
    clock.now = 3.0
    tracker.trial_result("a", {}, {"m": 0.9})
    clock.now = 7.5
    tracker.trial_result("a", {}, {"m": 0.4})
    clock.now = 9.0
    tracker.trial_result("b", {}, {"m": 0.1})
    assert tracker.snapshot().time_to_target_seconds == 7.5


def test_publisher_coalesces_whatever_the_event_rate(tmp_path):
    clock = Clock()
    sink = JsonFileSink(tmp_path / "status.json")
    publisher = CoalescingPublisher([sink], interval=2.0, clock=clock)
    published = 0
    for step in range(1000):  # 1000 events over 10 simulated seconds
        clock.now = step * 0.01
        published += publisher.maybe_publish(lambda: CampaignStatus(phase=Phase.RUNNING))
    assert published == 5  # t = 0, 2, 4, 6, 8
    publisher.flush(CampaignStatus(phase=Phase.SUCCEEDED))
    assert json.loads((tmp_path / "status.json").read_text())["phase"] == "Succeeded"
    assert list(tmp_path.iterdir()) == [tmp_path / "status.json"]  # no temp files left


def test_conditions_keep_transition_time_until_status_changes():
    status = CampaignStatus()
    status.set_condition("Complete", False, "Running")
    first = status.condition("Complete").last_transition_time
    status.set_condition("Complete", False, "StillRunning", "msg")
    assert status.condition("Complete").last_transition_time == first
    assert status.condition("Complete").reason == "StillRunning"
    assert len(status.conditions) == 1


def test_what_the_driver_keeps_per_trial_stays_under_one_and_a_half_kilobytes():
    """The driver keeps one small record per trial (tracker, usage ledger, stall watch): 752 bytes
    each over 10,000 ASHA-like trials, the trial id and best config included. Allocation sizes
    are the same from run to run, so the bound is not a timing."""
    import tracemalloc
    from types import SimpleNamespace

    from hpo_operator.driver.events import CampaignProgress
    from tests.support.campaigns import parsed

    spec = parsed("many", strategy={"scheduler": {"type": "asha", "maxT": 9}}).spec
    progress = CampaignProgress(spec, CoalescingPublisher([], 2.0),
                                CampaignStatus(phase=Phase.PENDING))
    trials = 10_000
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(trials):
            trial = SimpleNamespace(trial_id=f"4f1c2_{i:05d}", config={"x": i / trials},
                                    last_result={"training_iteration": 3})
            progress.trial_started(trial)
            for iteration in (1, 2, 3):
                progress.trial_reported(trial, {"loss": (i % 97) / iteration,
                                                "training_iteration": iteration,
                                                "time_this_iter_s": 0.001})
            if i % 3:
                progress.trial_stopped_early(trial.trial_id)
            progress.trial_completed(trial)
        del trial
        kept = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert progress.status().trials.total == trials
    assert kept / trials < 1536


def test_the_top_trials_kept_as_results_come_are_those_a_full_ranking_gives():
    """The tracker keeps the top five as results arrive; ties go to the trial heard of first."""
    for mode in ("min", "max"):
        rng = random.Random(7)
        tracker = CampaignTracker(Objective(metric="m", mode=mode))
        best: dict[str, float] = {}
        for step in range(3000):
            trial = f"t{rng.randrange(400)}"
            value = float(rng.randrange(60))  # coarse values: many ties
            tracker.trial_result(trial, {"step": step}, {"m": value, "training_iteration": 1})
            kept = best.get(trial)
            if kept is None or (value < kept if mode == "min" else value > kept):
                best[trial] = value
            if step % 250 == 0 or step == 2999:
                sign = 1 if mode == "min" else -1
                first_heard = {t: i for i, t in enumerate(best)}
                expected = sorted(best, key=lambda t: (sign * best[t], first_heard[t]))[:5]
                top = tracker.snapshot().top_trials
                assert [t.id for t in top] == expected
                assert [t.metric for t in top] == [best[t] for t in expected]
