"""The campaign status, computed in one place from what the operator observes. Pure: no I/O.

Inputs are the status the campaign has now, its RayJob (KubeRay's view: is the driver running,
did it end, how) and the progress the driver last published (trials, best trial, resumes). The
RayJob decides the phase; the progress fills in the trials. Terminal phases are final, and the best
trial never gets worse, even when a restarted driver has not yet re-read the finished trials.
Every status the operator writes is computed here; :func:`status_patch` turns it into the patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..campaign import ranking
from ..campaign.rules import Problem
from ..campaign.status import TOP_K, CampaignStatus, Phase, now_iso
from ..campaign.status_io import StatusUnreadable
from ..campaign.usage import BUDGET_EXHAUSTED

# KubeRay's RayJob.status.jobDeploymentStatus values, grouped by what they mean for a campaign.
_DEPLOYMENT_STARTING = {"", "New", "Initializing", "Waiting", "Suspending", "Suspended"}
_DEPLOYMENT_RUNNING = {"Running", "Retrying"}
_DEPLOYMENT_DONE = {"Complete", "Failed", "ValidationFailed"}

# Status fields the driver owns (the operator copies them from the progress ConfigMap): all but
# those the operator decides, so a field added to the status model flows through by itself.
_OPERATOR_FIELDS = {"phase", "message", "conditions", "best_trial", "top_trials", "completion_time"}
_DRIVER_FIELDS = tuple(sorted(set(CampaignStatus.model_fields) - _OPERATOR_FIELDS))
PROGRESS_UNREADABLE = "ProgressUnreadable"
PROVISIONING_FAILED = "ProvisioningFailed"
MAX_PROBLEMS_SHOWN = 10  # of a rejected spec's, in its status
# Conditions the operator decides; every other one is the driver's, as of its latest progress.
DRIVER_STALLED = "DriverStalled"  # decided from the heartbeat's age, see .liveness
_OPERATOR_CONDITIONS = {"Valid", "Provisioned", PROGRESS_UNREADABLE, DRIVER_STALLED}
# Conditions that are worth a Warning event when they turn True (the driver sets the trials').
_STALL_EVENTS = (DRIVER_STALLED, "TrialsPending", "TrialStalled")
# Starts the Provisioned message while a lost RayJob cannot be created again: it also tells
# children_expected() that the children are still to be re-created once the way is clear.
_RECREATING = "re-creating the children lost while the campaign ran: "


@dataclass(frozen=True)
class Milestone:
    """Something a user wants to see in ``kubectl get events``."""

    type: str  # Normal | Warning
    reason: str
    message: str


def status_patch(old: CampaignStatus, new: CampaignStatus) -> dict[str, Any] | None:
    """The merge patch (RFC 7386) that turns ``old`` into ``new``; None when they are equal.

    A merge patch keeps every key it does not name, so a field ``new`` no longer has is nulled:
    the stored status is then the computed one, with nothing left over from before.
    """
    return _merge_patch(old.to_dict(), new.to_dict()) or None


def _merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = _merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif (value != before) if key in old else (value is not None):
            patch[key] = value
    return patch


def validation_failed(problems: list[Problem]) -> CampaignStatus:
    """The message lists the first problems, each with the value it rejects (cut short); the
    Valid condition names their fields only, so that no value is quoted twice."""
    more = len(problems) - MAX_PROBLEMS_SHOWN
    tail = f" (and {more} more)" if more > 0 else ""
    shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
    status = CampaignStatus(phase=Phase.VALIDATION_FAILED,
                            message=f"spec is invalid: {shown}{tail}", completion_time=now_iso())
    fields = ", ".join(p.path for p in problems[:MAX_PROBLEMS_SHOWN])
    status.set_condition("Valid", False, "InvalidSpec",
                         f"{len(problems)} problem(s), at {fields}{tail}: see the message")
    return status


def provisioning_failed(current: CampaignStatus, reason: str, message: str) -> CampaignStatus:
    """The final status of a campaign whose children cannot be created, whatever kopf retries:
    the API server refused one for good (a 4xx other than 409 and 429) or building one failed.
    Phase Failed, reason ProvisioningFailed; the Provisioned condition keeps the refusal's own
    reason (Forbidden, NotFound, Invalid, BuildFailed...)."""
    status = current.model_copy(deep=True)
    status.phase = Phase.FAILED
    status.completion_time = status.completion_time or now_iso()
    status.message = f"provisioning failed ({reason}): {message}"
    status.set_condition("Provisioned", False, reason, message)
    status.set_condition("Complete", True, PROVISIONING_FAILED, status.message)
    return status


def spec_corrected() -> CampaignStatus:
    """The status of a rejected campaign whose spec was corrected, until it is validated again.
    Nothing of the rejection is kept: :func:`status_patch` nulls its completion time and empties
    its conditions."""
    return CampaignStatus(phase=Phase.PENDING, message="spec corrected: validating again")


def not_provisioned(current: CampaignStatus, reason: str, message: str) -> CampaignStatus:
    """The status while the campaign's children cannot be created, and why. When they had been
    created (a RayJob lost while the campaign ran), the message says so, and the campaign keeps
    counting as provisioned: see :func:`children_expected`."""
    status = current.model_copy(deep=True)
    status.phase = Phase.PROVISIONING if status.phase is Phase.PENDING else status.phase
    if children_expected(current):
        message = _RECREATING + message
    status.set_condition("Provisioned", False, reason, message)
    return status


def children_expected(status: CampaignStatus) -> bool:
    """Whether the children of an unfinished campaign were created, so that a missing RayJob is to
    be created again: its RayJob was seen (Provisioned True), or re-creating it failed since. Until
    then, creating them is provisioning's (kopf retries it), with its own event."""
    provisioned = status.condition("Provisioned")
    return (not status.phase.terminal and provisioned is not None
            and (provisioned.status == "True" or provisioned.message.startswith(_RECREATING)))


def fold(current: CampaignStatus, rayjob: dict[str, Any] | None,
         progress: CampaignStatus | StatusUnreadable | None, mode: str) -> CampaignStatus:
    """The next status. ``mode`` is the objective's (min|max), to compare best trials.

    ``progress`` is the driver's latest snapshot, or why it could not be read. An unreadable one
    never replaces the last good status: its trials, best trials, resumes and the driver's
    conditions stay, and condition ProgressUnreadable (True) says why. That condition is removed
    once a snapshot reads again. The RayJob decides the phase either way (terminal phases are final,
    so a campaign that ends meanwhile keeps the condition: its status lacks the driver's last word).
    """
    if current.phase.terminal:
        return current
    status = current.model_copy(deep=True)
    status.set_condition("Valid", True, "SpecValid")
    if isinstance(progress, StatusUnreadable):
        status.set_condition(PROGRESS_UNREADABLE, True, "UnreadableSnapshot",
                             f"{progress}; the status keeps the last progress that could be read")
        progress = None
    elif progress is not None:
        status.conditions = [c for c in status.conditions if c.type != PROGRESS_UNREADABLE]
        _merge_progress(status, progress, mode)
    _follow_rayjob(status, rayjob, progress)
    if not status.phase.terminal:
        # An interrupted driver's last word (Complete=True, reason Interrupted) outlives it in the
        # progress ConfigMap until its retry publishes: `kubectl wait --for=condition=Complete`
        # must not return while the campaign still runs.
        status.conditions = [c for c in status.conditions
                             if not (c.type == "Complete" and c.status == "True")]
    return status


def _follow_rayjob(status: CampaignStatus, rayjob: dict[str, Any] | None,
                   progress: CampaignStatus | None) -> None:
    if rayjob is None:
        status.phase = Phase.PROVISIONING if status.phase is Phase.PENDING else status.phase
        return
    status.set_condition("Provisioned", True, "RayJobCreated",
                         f"RayJob {rayjob.get('metadata', {}).get('name')}")
    job = rayjob.get("status") or {}
    deployment, job_status = job.get("jobDeploymentStatus", ""), job.get("jobStatus", "")
    if deployment in _DEPLOYMENT_DONE or job_status in ("SUCCEEDED", "FAILED", "STOPPED"):
        if deployment not in _DEPLOYMENT_DONE and job_status != "SUCCEEDED":
            return  # the driver failed but KubeRay may still retry it
        # The driver exits 0 once the campaign has a result: its own final phase decides.
        driver_failed = progress is not None and progress.phase is Phase.FAILED
        _finish(status, job_status == "SUCCEEDED" and not driver_failed, job, progress)
    elif deployment in _DEPLOYMENT_RUNNING or job_status == "RUNNING":
        status.phase = Phase.RUNNING
    elif deployment in _DEPLOYMENT_STARTING:
        status.phase = Phase.PROVISIONING if status.phase is Phase.PENDING else status.phase


def _merge_progress(status: CampaignStatus, progress: CampaignStatus, mode: str) -> None:
    for name in _DRIVER_FIELDS:
        setattr(status, name, getattr(progress, name))
    status.top_trials = [t.model_copy(update={"reproduce": None}) if t.reproduce else t  # once
                         for t in ranking.top_trials(status.top_trials + progress.top_trials,
                                                     mode, TOP_K)]
    status.best_trial = status.top_trials[0] if status.top_trials else status.best_trial
    said = progress.best_trial  # the driver's, which says how to reproduce it once it ended
    if status.best_trial is not None and said is not None and said.id == status.best_trial.id:
        status.best_trial = status.best_trial.model_copy(update={"reproduce": said.reproduce})
    # The driver's conditions are those of its latest progress: one a retried driver no longer
    # reports is gone, not kept from the attempt before.
    latest = {cond.type for cond in progress.conditions}
    status.conditions = [c for c in status.conditions
                         if c.type in _OPERATOR_CONDITIONS or c.type in latest]
    for cond in progress.conditions:
        if cond.type not in _OPERATOR_CONDITIONS:
            status.set_condition(cond.type, cond.status == "True", cond.reason, cond.message)


def _finish(status: CampaignStatus, succeeded: bool, job: dict[str, Any],
            progress: CampaignStatus | None) -> None:
    status.phase = Phase.SUCCEEDED if succeeded else Phase.FAILED
    status.completion_time = status.completion_time or now_iso()
    driver_said = progress.message if progress is not None else None
    if succeeded:
        status.message = driver_said or "the driver finished"
        status.set_condition("Complete", True, "CampaignFinished", status.message)
        return
    said = progress.condition("Complete") if progress is not None else None
    reason = (said.reason if said else None) or job.get("reason") or "RayJobFailed"
    status.message = driver_said or job.get("message") or f"RayJob ended: {reason}"
    status.set_condition("Complete", True, reason, status.message)


def milestones(old: CampaignStatus, new: CampaignStatus) -> list[Milestone]:
    events = []
    best, previous = new.best_trial, old.best_trial
    if best is not None and (previous is None or (best.id, best.metric) != (previous.id, previous.metric)):
        events.append(Milestone("Normal", "NewBestTrial",
                                f"trial {best.id}: {new.metric or 'objective'}={best.metric:.6g} "
                                f"at iteration {best.iteration}, config {best.config}"))
    if new.resumed > old.resumed:
        events.append(Milestone("Normal", "ExperimentResumed",
                                f"the driver restored the Tune experiment (resume #{new.resumed}); "
                                "finished trials are kept"))
    exhausted = new.condition(BUDGET_EXHAUSTED)
    if exhausted is not None and _turned_true(old, new, BUDGET_EXHAUSTED):
        events.append(Milestone("Normal", BUDGET_EXHAUSTED, exhausted.message))
    if new.trials.preempted > old.trials.preempted:
        events.append(Milestone("Warning", "TrialPreempted",
                                f"{new.trials.preempted - old.trials.preempted} trial(s) lost "
                                "their node and are retried from their last checkpoint (not "
                                f"counted as errors; {new.trials.preempted} in all)"))
    for kind in _STALL_EVENTS:
        stalled, before = new.condition(kind), old.condition(kind)
        if stalled is not None and stalled.status == "True" and (before is None
                                                                or before.status != "True"):
            events.append(Milestone("Warning", kind, stalled.message))
    if new.phase is not old.phase:
        if new.phase is Phase.RUNNING:
            events.append(Milestone("Normal", "Running", "the driver is running trials"))
        elif new.phase is Phase.SUCCEEDED:
            events.append(Milestone("Normal", "Succeeded", new.message or "campaign finished"))
        elif new.phase is Phase.FAILED:
            events.append(Milestone("Warning", "Failed", new.message or "campaign failed"))
    return events


def _turned_true(old: CampaignStatus, new: CampaignStatus, condition: str) -> bool:
    now, before = new.condition(condition), old.condition(condition)
    return now is not None and now.status == "True" and (before is None or before.status != "True")
