"""The status fold, milestones, settings and metrics: pure, no cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client import generate_latest

from hpo_operator.campaign.rules import Problem
from hpo_operator.campaign.status import CampaignStatus, Phase, TrialCounts, TrialSummary
from hpo_operator.campaign.status_io import StatusUnreadable, parse_status
from hpo_operator.controller import reconcile
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import ConfigurationError, OperatorSettings


def rayjob(deployment: str = "", job: str = "", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": "c-tune"},
            "status": {"jobDeploymentStatus": deployment, "jobStatus": job, **extra}}


def trial(tid: str, metric: float) -> TrialSummary:
    return TrialSummary(id=tid, config={"x": metric}, metric=metric, iteration=3)


def progress(*trials: TrialSummary, resumed: int = 0, message: str | None = None,
             completed: int = 0) -> CampaignStatus:
    top = sorted(trials, key=lambda t: t.metric)
    return CampaignStatus(phase=Phase.RUNNING, top_trials=top, best_trial=top[0] if top else None,
                          resumed=resumed, message=message, metric="loss",
                          trials=TrialCounts(total=len(trials), completed=completed))


@pytest.mark.parametrize("deployment, job, phase", [
    ("", "", Phase.PROVISIONING),
    ("Initializing", "", Phase.PROVISIONING),
    ("Running", "RUNNING", Phase.RUNNING),
    ("Retrying", "FAILED", Phase.RUNNING),
    ("Running", "FAILED", Phase.RUNNING),  # KubeRay has not decided on a retry yet
    ("Complete", "SUCCEEDED", Phase.SUCCEEDED),
    ("Failed", "FAILED", Phase.FAILED),
    ("Complete", "FAILED", Phase.FAILED),
])
def test_phase_follows_the_rayjob(deployment: str, job: str, phase: Phase) -> None:
    start = CampaignStatus(phase=Phase.RUNNING if phase is Phase.RUNNING else Phase.PENDING)
    assert reconcile.fold(start, rayjob(deployment, job), None, "min").phase is phase


def test_no_rayjob_yet_is_provisioning() -> None:
    assert reconcile.fold(CampaignStatus(), None, None, "min").phase is Phase.PROVISIONING


def test_terminal_phases_are_final() -> None:
    done = CampaignStatus(phase=Phase.SUCCEEDED, message="ok")
    assert reconcile.fold(done, rayjob("Running", "RUNNING"), progress(trial("a", 1)), "min") == done


def test_progress_fills_trials_and_best() -> None:
    status = reconcile.fold(CampaignStatus(), rayjob("Running", "RUNNING"),
                            progress(trial("a", 0.5), trial("b", 0.2), completed=2), "min")
    assert status.best_trial is not None and status.best_trial.id == "b"
    assert status.trials.completed == 2 and status.metric == "loss"
    assert status.condition("Provisioned") is not None


def test_best_trial_survives_a_restarted_driver() -> None:
    """After a retry the new driver publishes before it re-reads finished trials."""
    before = reconcile.fold(CampaignStatus(), rayjob("Running", "RUNNING"),
                            progress(trial("a", 0.1), trial("b", 0.3)), "min")
    after = reconcile.fold(before, rayjob("Running", "RUNNING"),
                           progress(trial("c", 0.2), resumed=1), "min")
    assert after.best_trial is not None and after.best_trial.id == "a"
    assert [t.id for t in after.top_trials] == ["a", "c", "b"]
    assert after.resumed == 1


def test_top_trials_stay_bounded_and_respect_max_mode() -> None:
    many = [trial(f"t{i}", float(i)) for i in range(50)]
    status = reconcile.fold(CampaignStatus(), rayjob("Running", "RUNNING"), progress(*many), "max")
    assert [t.id for t in status.top_trials] == ["t49", "t48", "t47", "t46", "t45"]
    assert status.best_trial is not None and status.best_trial.id == "t49"


def test_failure_message_comes_from_the_driver_then_kuberay() -> None:
    failed = reconcile.fold(CampaignStatus(), rayjob("Failed", "FAILED", reason="AppFailed",
                                                     message="exit 1"),
                            progress(message="every trial failed"), "min")
    assert failed.message == "every trial failed"
    assert failed.condition("Complete").reason == "AppFailed"  # type: ignore[union-attr]
    assert reconcile.fold(CampaignStatus(), rayjob("Failed", "FAILED", message="deadline"),
                          None, "min").message == "deadline"


def test_a_failed_campaign_is_failed_even_though_its_driver_exited_zero() -> None:
    final = progress(trial("a", 1.0), message="stopped at the first trial error")
    final.phase = Phase.FAILED
    final.set_condition("Complete", True, "TrialError", final.message or "")
    status = reconcile.fold(CampaignStatus(), rayjob("Complete", "SUCCEEDED"), final, "min")
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "TrialError"  # type: ignore[union-attr]
    assert status.best_trial is not None and status.best_trial.id == "a"


def test_an_interrupted_drivers_complete_condition_ends_with_its_retry() -> None:
    """KubeRay retries a driver that was stopped: the campaign runs on and is not Complete."""
    interrupted = progress(trial("a", 0.4), message="interrupted")
    interrupted.phase = Phase.FAILED
    interrupted.set_condition("Complete", True, "Interrupted", "stopped by SIGTERM")
    interrupted.set_condition("TrialsErrored", True, "TrialError", "trial b failed")
    running = CampaignStatus(phase=Phase.RUNNING)
    before_retry = reconcile.fold(running, rayjob("Retrying", "FAILED"), interrupted, "min")
    assert before_retry.phase is Phase.RUNNING
    assert before_retry.condition("Complete") is None
    assert before_retry.condition("TrialsErrored") is not None

    resumed = progress(trial("a", 0.4), resumed=1)
    resumed.set_condition("Resumed", True, "ExperimentRestored")
    retried = reconcile.fold(before_retry, rayjob("Running", "RUNNING"), resumed, "min")
    assert {c.type for c in retried.conditions} == {"Valid", "Provisioned", "Resumed"}

    done = reconcile.fold(retried, rayjob("Complete", "SUCCEEDED"), resumed, "min")
    assert done.condition("Complete").status == "True"  # type: ignore[union-attr]


def test_validation_failed_lists_problems() -> None:
    status = reconcile.validation_failed([Problem("spec.budget.trials", "must be positive", 0)])
    assert status.phase is Phase.VALIDATION_FAILED and status.phase.terminal
    assert "spec.budget.trials: must be positive (got 0)" in (status.message or "")
    assert status.condition("Valid").status == "False"  # type: ignore[union-attr]


def test_milestones() -> None:
    old = CampaignStatus(phase=Phase.PROVISIONING)
    new = reconcile.fold(old, rayjob("Running", "RUNNING"), progress(trial("a", 0.4)), "min")
    assert [m.reason for m in reconcile.milestones(old, new)] == ["NewBestTrial", "Running"]
    assert reconcile.milestones(new, new) == []  # nothing new: no events (restart-safe)
    resumed = reconcile.fold(new, rayjob("Running", "RUNNING"),
                             progress(trial("a", 0.4), resumed=1), "min")
    assert [m.reason for m in reconcile.milestones(new, resumed)] == ["ExperimentResumed"]
    failed = reconcile.fold(new, rayjob("Failed", "FAILED"), None, "min")
    assert [(m.type, m.reason) for m in reconcile.milestones(new, failed)] == [("Warning", "Failed")]


# -- a progress snapshot that does not parse never replaces the last good status --------------
def read(raw: str) -> CampaignStatus | StatusUnreadable:
    """What the operator makes of the progress ConfigMap's text."""
    try:
        return parse_status(raw, source="progress")
    except StatusUnreadable as exc:
        return exc


def good_status() -> CampaignStatus:
    status = reconcile.fold(CampaignStatus(), rayjob("Running", "RUNNING"),
                            progress(trial("a", 0.1), trial("b", 0.3), resumed=2, completed=2),
                            "min")
    status.set_condition("Resumed", True, "ExperimentRestored")  # the driver's condition
    return status


@pytest.mark.parametrize("raw, why", [
    (json.dumps({"phase": "Hibernating", "resumed": 0, "trials": {"total": 0}}), "phase"),
    ('{"phase": "Running", "trials": {"tot', "not JSON"),
], ids=["unknown-phase", "truncated-json"])
def test_an_unreadable_snapshot_keeps_the_last_good_status(raw: str, why: str) -> None:
    before = good_status()
    after = reconcile.fold(before, rayjob("Running", "RUNNING"), read(raw), "min")
    assert after.trials == before.trials and after.resumed == 2
    assert after.best_trial == before.best_trial and after.top_trials == before.top_trials
    assert after.condition("Resumed") == before.condition("Resumed")
    unreadable = after.condition("ProgressUnreadable")
    assert unreadable is not None and unreadable.status == "True"
    assert unreadable.reason == "UnreadableSnapshot" and why in unreadable.message
    assert after.phase is Phase.RUNNING  # the RayJob still decides the phase


def test_a_newer_drivers_extra_fields_are_ignored_and_its_known_ones_merged() -> None:
    newer = progress(trial("c", 0.05), resumed=3, completed=3).to_dict()
    newer["heartbeat"] = "2026-01-01T00:00:00Z"
    newer["trials"]["preempted"] = 1
    status = reconcile.fold(good_status(), rayjob("Running", "RUNNING"),
                            read(json.dumps(newer)), "min")
    assert status.condition("ProgressUnreadable") is None
    assert status.resumed == 3 and status.trials.completed == 3
    assert status.best_trial is not None and status.best_trial.id == "c"


def test_a_readable_snapshot_clears_the_unreadable_condition() -> None:
    broken = reconcile.fold(good_status(), rayjob("Running", "RUNNING"), read("{"), "min")
    assert broken.condition("ProgressUnreadable") is not None
    again = reconcile.fold(broken, rayjob("Running", "RUNNING"), None, "min")
    assert again.condition("ProgressUnreadable") is not None  # no new snapshot: nothing cleared
    recovered = reconcile.fold(again, rayjob("Running", "RUNNING"),
                               progress(trial("a", 0.1), resumed=2, completed=4), "min")
    assert recovered.condition("ProgressUnreadable") is None
    assert recovered.trials.completed == 4


# -- the patch that writes a status -----------------------------------------------------------
def test_a_status_patch_names_only_what_changed_and_nulls_what_went() -> None:
    old = reconcile.validation_failed([Problem("spec.budget.trials", "must be positive", 0)])
    assert reconcile.status_patch(old, old) is None
    patch = reconcile.status_patch(old, reconcile.spec_corrected())
    assert patch == {"phase": "Pending", "message": "spec corrected: validating again",
                     "completionTime": None, "conditions": []}
    before = good_status()
    after = before.model_copy(deep=True)
    after.trials.completed = 3
    after.metric = None
    assert reconcile.status_patch(before, after) == {"trials": {"completed": 3}, "metric": None}


def test_children_stay_expected_while_re_creating_them_fails() -> None:
    assert not reconcile.children_expected(CampaignStatus())
    never = reconcile.not_provisioned(CampaignStatus(), "Forbidden", "HTTP 403")
    assert not reconcile.children_expected(never)  # provisioning's to retry
    assert never.condition("Provisioned").message == "HTTP 403"  # type: ignore[union-attr]
    ran = good_status()
    assert reconcile.children_expected(ran)
    lost = reconcile.not_provisioned(ran, "ChildOfAnotherCampaign", "RayJob c-tune is in the way")
    again = reconcile.not_provisioned(lost, "Forbidden", "HTTP 403")
    assert reconcile.children_expected(lost) and reconcile.children_expected(again)
    condition = again.condition("Provisioned")
    assert condition is not None and condition.status == "False" and condition.reason == "Forbidden"
    assert condition.message.count("re-creating") == 1
    assert not reconcile.children_expected(reconcile.fold(ran, rayjob("Complete", "SUCCEEDED"),
                                                          None, "min"))


def test_settings_from_env() -> None:
    s = OperatorSettings.from_env({"HPO_NAMESPACES": "a, b", "HPO_METRICS_PORT": "9100",
                                   "HPO_EXPERIMENT_CHECKPOINT_SECONDS": "2.5", "HPO_IMAGE": "i:1",
                                   "HPO_BACKOFF_LIMIT": "", "HPO_RUN_AS_USER": "1000"})
    assert s.namespaces == ("a", "b") and s.metrics_port == 9100
    defaults = s.cluster_defaults()
    assert defaults.image == "i:1" and defaults.experiment_checkpoint_seconds == 2.5
    assert defaults.run_as_user == 1000 and OperatorSettings.from_env({}).run_as_user is None
    assert defaults.backoff_limit == OperatorSettings().backoff_limit
    with pytest.raises(ConfigurationError, match="HPO_METRICS_PORT"):
        OperatorSettings.from_env({"HPO_METRICS_PORT": "ninety"})


@pytest.mark.parametrize("env, named", [
    ({"HPO_DEADLINE_MARGIN_SECONDS": str(2**31)}, "HPO_DEADLINE_MARGIN_SECONDS"),  # int32
    ({"HPO_BACKOFF_LIMIT": "-1"}, "HPO_BACKOFF_LIMIT"),
    ({"HPO_RESYNC_SECONDS": "inf"}, "HPO_RESYNC_SECONDS"),
    ({"HPO_MAX_WORKERS": "5000"}, "HPO_MAX_WORKERS"),  # above the spec's own cap
    ({"HPO_STORAGE_PATH": "/etc/hpo"}, "HPO_STORAGE_PATH"),  # the manifest's mount
    ({"HPO_IMAGE": "Not An Image"}, "HPO_IMAGE"),
])
def test_settings_that_would_make_invalid_objects_are_refused(env: dict[str, str],
                                                              named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        OperatorSettings.from_env(env)


def test_the_installation_limits_come_from_the_environment() -> None:
    s = OperatorSettings.from_env({"HPO_MAX_WORKERS": "4", "HPO_MAX_CPUS_PER_POD": "7.5",
                                   "HPO_MAX_GPUS_PER_POD": "2"})
    assert (s.max_workers, s.max_cpus_per_pod, s.max_gpus_per_pod) == (4, 7.5, 2)


def test_provisioning_failed_is_final_and_keeps_the_refusal() -> None:
    provisioning = reconcile.not_provisioned(CampaignStatus(), "Forbidden", "HTTP 403")
    failed = reconcile.provisioning_failed(provisioning, "Invalid", "HTTP 422 Unprocessable")
    assert failed.phase is Phase.FAILED and failed.completion_time
    assert failed.condition("Provisioned").reason == "Invalid"  # type: ignore[union-attr]
    assert failed.condition("Complete").reason == "ProvisioningFailed"  # type: ignore[union-attr]
    assert reconcile.fold(failed, rayjob("Running", "RUNNING"), None, "min") == failed
    assert [m.reason for m in reconcile.milestones(provisioning, failed)] == ["Failed"]


def test_metrics_follow_campaigns_and_forget_deleted_ones() -> None:
    metrics = Metrics()
    status = progress(trial("a", 0.25), completed=1)
    metrics.observe("ns", "c1", status)
    metrics.observe("ns", "c2", CampaignStatus(phase=Phase.FAILED))
    text = generate_latest(metrics.registry).decode()
    assert 'hpo_campaigns{phase="Running"} 1.0' in text
    assert 'hpo_campaigns{phase="Failed"} 1.0' in text
    assert 'hpo_campaign_best_objective{campaign="c1",metric="loss",namespace="ns"} 0.25' in text
    assert 'hpo_campaign_trials{campaign="c1",namespace="ns",state="completed"} 1.0' in text
    with pytest.raises(RuntimeError), metrics.timed("rayjob"):
        raise RuntimeError("boom")
    metrics.forget("ns", "c1")
    text = generate_latest(metrics.registry).decode()
    assert 'campaign="c1"' not in text
    assert 'hpo_campaigns{phase="Running"} 0.0' in text
    assert 'hpo_reconcile_errors_total{trigger="rayjob"} 1.0' in text
    assert 'hpo_reconcile_duration_seconds_count{trigger="rayjob"} 1.0' in text


def test_the_best_trials_reproduction_record_reaches_the_status() -> None:
    from hpo_operator.campaign.status import Reproduction

    record = Reproduction(entrypoint="m:T", config={"x": 0.3, "seed": 1}, seed=1)
    final = progress(trial("a", 0.1))
    final.best_trial = final.top_trials[0].model_copy(update={"reproduce": record})
    status = reconcile.fold(CampaignStatus(), None, final, "min")
    assert status.best_trial is not None and status.best_trial.reproduce == record
    assert status.to_dict()["bestTrial"]["reproduce"]["entrypoint"] == "m:T"
