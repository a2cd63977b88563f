"""DriverStalled from the heartbeat's age: the pure decision."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator.controller import reconcile
from hpo_operator.controller.liveness import driver_liveness

BEAT = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def running(beat: datetime | None = BEAT) -> CampaignStatus:
    return CampaignStatus(phase=Phase.RUNNING,
                          heartbeat_time=beat.strftime("%Y-%m-%dT%H:%M:%SZ") if beat else None)


def stalled(status: CampaignStatus) -> str | None:
    found = status.condition("DriverStalled")
    return None if found is None else f"{found.status} {found.reason}"


def test_a_fresh_heartbeat_sets_nothing_and_an_old_one_says_stalled() -> None:
    assert stalled(driver_liveness(running(), BEAT + timedelta(seconds=30), 60)) is None
    old = driver_liveness(running(), BEAT + timedelta(seconds=61), 60)
    assert stalled(old) == "True NoHeartbeat"
    assert "for 61 s" in old.condition("DriverStalled").message


def test_a_new_heartbeat_clears_it_and_posts_one_warning_only() -> None:
    before = CampaignStatus(phase=Phase.RUNNING)
    old = driver_liveness(running(), BEAT + timedelta(seconds=61), 60)
    assert [m.reason for m in reconcile.milestones(before, old)] == ["DriverStalled"]
    again = driver_liveness(old, BEAT + timedelta(seconds=90), 60)
    assert again == old and reconcile.milestones(old, again) == []  # still stalled, no new event
    later = old.model_copy(update={"heartbeat_time": "2026-01-01T12:01:30Z"})
    assert stalled(driver_liveness(later, BEAT + timedelta(seconds=95), 60)) == \
        "False HeartbeatResumed"


def test_only_a_running_campaign_can_stall() -> None:
    now = BEAT + timedelta(hours=1)
    assert stalled(driver_liveness(running().model_copy(update={"phase": Phase.PROVISIONING}),
                                   now, 60)) is None
    assert stalled(driver_liveness(running(beat=None), now, 60)) is None  # no driver yet
    ended = driver_liveness(running(), now, 60).model_copy(update={"phase": Phase.SUCCEEDED})
    assert stalled(driver_liveness(ended, now, 60)) == "False CampaignEnded"


def test_the_operator_keeps_its_condition_across_progress_snapshots() -> None:
    status = driver_liveness(running(), BEAT + timedelta(seconds=61), 60)
    folded = reconcile.fold(status, None, running(), "min")  # a snapshot without the condition
    assert stalled(folded) == "True NoHeartbeat"
