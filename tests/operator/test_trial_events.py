"""What the operator makes of the driver's trial news: preemptions and stalls, folded into the
campaign's status and told as Warning events once each time they happen. Pure, no cluster."""

from __future__ import annotations

from hpo_operator.campaign.status import CampaignStatus, Phase, TrialCounts
from hpo_operator.controller import reconcile

RUNNING_JOB = {"metadata": {"name": "c-tune"},
               "status": {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}}


def progress(preempted: int = 0, **conditions: tuple[bool, str]) -> CampaignStatus:
    status = CampaignStatus(phase=Phase.RUNNING, metric="loss",
                            trials=TrialCounts(total=2, running=2, preempted=preempted))
    for kind, (active, message) in conditions.items():
        status.set_condition(kind, active, "NoResults" if active else "ResultsResumed", message)
    return status


def events(old: CampaignStatus, new: CampaignStatus) -> list[tuple[str, str]]:
    return [(m.type, m.reason) for m in reconcile.milestones(old, new)]


def test_a_rising_preemption_count_is_one_event_each_time():
    start = reconcile.fold(CampaignStatus(phase=Phase.RUNNING), RUNNING_JOB, progress(), "min")
    once = reconcile.fold(start, RUNNING_JOB, progress(preempted=1), "min")
    assert once.trials.preempted == 1 and once.trials.errored == 0
    assert events(start, once) == [("Warning", "TrialPreempted")]
    assert events(once, reconcile.fold(once, RUNNING_JOB, progress(preempted=1), "min")) == []
    twice = reconcile.fold(once, RUNNING_JOB, progress(preempted=3), "min")
    told = reconcile.milestones(once, twice)
    assert [m.reason for m in told] == ["TrialPreempted"]
    assert "2 trial(s) lost their node" in told[0].message and "3 in all" in told[0].message


def test_stall_conditions_are_folded_and_warned_of_when_they_turn_true():
    start = reconcile.fold(CampaignStatus(phase=Phase.RUNNING), RUNNING_JOB, progress(), "min")
    said = "trial t1 has reported nothing for 30 s"
    stalled = reconcile.fold(start, RUNNING_JOB,
                             progress(TrialStalled=(True, said),
                                      TrialsPending=(True, "1 trial(s) waiting")), "min")
    assert stalled.condition("TrialStalled").message == said
    assert stalled.condition("TrialsPending").status == "True"
    assert sorted(events(start, stalled)) == [("Warning", "TrialStalled"),
                                              ("Warning", "TrialsPending")]
    cleared = reconcile.fold(stalled, RUNNING_JOB, progress(TrialStalled=(False, "ok"),
                                                            TrialsPending=(False, "ok")), "min")
    assert cleared.condition("TrialStalled").status == "False"
    assert events(stalled, cleared) == []
