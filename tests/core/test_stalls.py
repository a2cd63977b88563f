"""TrialsPending and TrialStalled from constructed timings: the pure logic of campaign.stalls."""

from __future__ import annotations

from hpo_operator.campaign.stalls import (
    TRIAL_STALLED,
    TRIALS_PENDING,
    StallLimits,
    StallWatch,
    judge,
    pending_message,
    stalled_message,
)
from hpo_operator.campaign.status import CampaignStatus
from hpo_operator.campaign.tune_names import PAUSED, PENDING, RUNNING

LIMITS = StallLimits(pending_seconds=60, iteration_factor=10, min_seconds=5)


def _reporting(watch: StallWatch, trial: str, times: list[float]) -> None:
    watch.started(trial, times[0] - 1)
    for t in times:
        watch.reported(trial, t)


def test_a_trial_pending_past_the_limit_is_waiting_until_it_starts():
    watch = StallWatch(LIMITS)
    watch.observe("a", PENDING, 100)
    watch.observe("a", PENDING, 150)  # still the same wait: it began at 100
    watch.observe("b", PENDING, 140)
    assert watch.waiting(160) == []  # 60 s is the limit, not past it
    assert watch.waiting(161) == [("a", 61)]
    assert watch.waiting(201) == [("a", 101), ("b", 61)]
    watch.started("a", 202)
    assert watch.waiting(203) == [("b", 63)]
    watch.observe("b", RUNNING, 204)
    assert watch.waiting(400) == []


def test_a_preempted_trial_waits_anew():
    watch = StallWatch(LIMITS)
    watch.observe("a", PENDING, 0)
    watch.started("a", 10)
    watch.observe("a", PENDING, 500)  # requeued after losing its node
    assert watch.waiting(559) == [] and watch.waiting(561) == [("a", 61)]


def test_a_trial_silent_for_ten_times_its_usual_iteration_is_stalled():
    watch = StallWatch(LIMITS)
    _reporting(watch, "a", [10, 11, 12, 13])  # 1 s per iteration
    assert watch.silent(23) == []  # 10 s: the limit
    assert watch.silent(23.5) == [("a", 10.5, 1.0)]
    watch.reported("a", 24)  # it reports again: no longer silent
    assert watch.silent(25) == []


def test_the_floor_protects_fast_trials_and_one_result_is_not_a_pace():
    watch = StallWatch(LIMITS)
    _reporting(watch, "fast", [1.0, 1.1, 1.2])  # 0.1 s: 10 x is 1 s, under the 5 s floor
    watch.started("new", 0)
    watch.reported("new", 1.0)  # a first result, including setup: no usual time yet
    assert watch.silent(5.0) == []
    assert [s[0] for s in watch.silent(6.3)] == ["fast"]


def test_paused_and_ended_trials_are_not_stalled():
    watch = StallWatch(LIMITS)
    _reporting(watch, "paused", [1, 2, 3])
    _reporting(watch, "ended", [1, 2, 3])
    watch.observe("paused", PAUSED, 4)
    watch.ended("ended")
    assert watch.silent(1000) == [] and watch.waiting(1000) == []


def test_a_restarted_trial_keeps_its_pace_but_needs_a_result_first():
    watch = StallWatch(LIMITS)
    _reporting(watch, "a", [1, 2, 3])
    watch.started("a", 100)  # restored from its checkpoint: restoring is not an iteration
    assert watch.silent(200) == []
    watch.reported("a", 201)
    assert watch.silent(211.5) == [("a", 10.5, 1.0)]


def test_the_pending_message_sets_demand_against_the_cluster():
    message = pending_message([("t2", 75.0), ("t3", 61.0)], {"CPU": 2, "GPU": 0},
                              {"CPU": 3.0, "memory": 1e9}, {"CPU": 1.0}, 60)
    assert message == ("2 trial(s) waiting to start for longer than 60 s (trial t2 for 75 s): "
                       "each needs CPU 2, 2 x = CPU 4; the cluster has CPU 3 in all, CPU 1 free")
    # Ray leaves out a resource that is used up; a GPU that no trial asks for is not shown.
    used_up = pending_message([("t2", 75.0)], {"CPU": 2, "GPU": 0}, {"CPU": 2.0, "GPU": 1.0}, {},
                              60)
    assert used_up.endswith("each needs CPU 2, 1 x = CPU 2; the cluster has CPU 2 in all, "
                            "CPU 0 free")


def test_the_stalled_message_names_the_trial():
    message = stalled_message([("t1", 30.0, 1.5), ("t4", 20.0, 1.0)], LIMITS)
    assert message.startswith("trial t1 has reported nothing for 30 s, 20 times its usual "
                              "iteration time of 1.5 s (limit: 10 times, at least 5 s)")
    assert message.endswith("also silent: t4")


def test_conditions_appear_when_they_matter_and_turn_false_when_cleared():
    status = CampaignStatus()
    judge(status, TRIAL_STALLED, False, "NoResults", "", "ResultsResumed", "ok")
    assert status.condition(TRIAL_STALLED) is None
    judge(status, TRIAL_STALLED, True, "NoResults", "trial t1 ...", "ResultsResumed", "ok")
    assert status.condition(TRIAL_STALLED).status == "True"
    judge(status, TRIAL_STALLED, False, "NoResults", "", "ResultsResumed", "ok")
    cleared = status.condition(TRIAL_STALLED)
    assert (cleared.status, cleared.reason) == ("False", "ResultsResumed")
    assert status.condition(TRIALS_PENDING) is None
