"""Is the driver alive? Condition DriverStalled from the age of its last heartbeat. Pure.

The driver publishes a snapshot, with ``heartbeatTime``, every few seconds while it runs. A driver
that is stopped, deadlocked or cut off from the API server publishes nothing, and KubeRay still
reports its RayJob running: only the heartbeat's age tells.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..campaign.status import CampaignStatus, Phase
from .reconcile import DRIVER_STALLED


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def driver_liveness(status: CampaignStatus, now: datetime, stall_seconds: float) -> CampaignStatus:
    """``status`` with DriverStalled set while a running campaign's heartbeat is older than
    ``stall_seconds``, and cleared (False) once one arrives; a finished campaign keeps no claim
    that its driver is stalled."""
    current = status.condition(DRIVER_STALLED)
    beat = parse_time(status.heartbeat_time)
    if status.phase is not Phase.RUNNING or beat is None:
        if current is None or current.status == "False" or not status.phase.terminal:
            return status
        new = status.model_copy(deep=True)
        new.set_condition(DRIVER_STALLED, False, "CampaignEnded", "the campaign has ended")
        return new
    age = (now - beat).total_seconds()
    stalled = age > stall_seconds
    if current is None and not stalled:
        return status  # no news is good news: the condition appears only once it matters
    if current is not None and (current.status == "True") == stalled:
        return status
    new = status.model_copy(deep=True)
    if stalled:
        new.set_condition(DRIVER_STALLED, True, "NoHeartbeat",
                          f"no progress from the driver for {age:.0f} s (last at "
                          f"{status.heartbeat_time}, limit {stall_seconds:g} s): it may be stopped, "
                          "deadlocked or cut off from the API server; see the head pod's log")
    else:
        new.set_condition(DRIVER_STALLED, False, "HeartbeatResumed",
                          f"the driver published progress at {status.heartbeat_time}")
    return new
