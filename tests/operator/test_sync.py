"""sync against the in-memory stand-in for :mod:`hpo_operator.kube`: re-creating a lost
RayJob, unreadable statuses and progress, and ranking by the spec's objective."""

from __future__ import annotations

import json
import logging

import kopf
import pytest

from hpo_operator.campaign.status import CampaignStatus, Phase, TrialSummary
from hpo_operator.controller import campaigns, handlers
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names

from .fake_kube import LOG, NAME, NS, UID, FakeKube, owned_by, progress_configmap, rayjob, running

RAYJOB = ("RayJob", names.rayjob_name(NAME))
PROGRESS = ("ConfigMap", names.progress_configmap_name(NAME))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    return FakeKube().install(monkeypatch)


def sync() -> CampaignStatus | None:
    return campaigns.sync(NS, NAME, OperatorSettings(), Metrics(), "test")


def snapshot(*trials: TrialSummary, resumed: int = 0) -> str:
    top = sorted(trials, key=lambda t: t.metric)
    return json.dumps(CampaignStatus(phase=Phase.RUNNING, top_trials=top, resumed=resumed,
                                     best_trial=top[0] if top else None).to_dict())


def trial(tid: str, metric: float) -> TrialSummary:
    return TrialSummary(id=tid, config={"x": metric}, metric=metric, iteration=1)


def provisioned(fake: FakeKube) -> None:
    campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    fake.objects[RAYJOB]["status"] = {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}
    assert sync() is not None and fake.status().phase is Phase.RUNNING


# -- a lost RayJob is created again, as provisioning creates it ------------------------------------
def test_a_lost_rayjob_in_the_way_is_reported_then_created_again(fake: FakeKube) -> None:
    provisioned(fake)
    fake.events.clear()
    fake.objects[RAYJOB] = rayjob(owned_by(UID, deletionTimestamp="2026-01-01T00:00:00Z"),
                                  "Running", "RUNNING")  # KubeRay's finalizer holds it
    status = sync()
    assert status is not None and status.phase is Phase.RUNNING
    condition = status.condition("Provisioned")
    assert condition is not None and condition.status == "False"
    assert condition.reason == "ChildOfAnotherCampaign" and "being deleted" in condition.message
    assert fake.events == []

    del fake.objects[RAYJOB]  # its deletion event brings the next sync
    status = sync()
    assert ("Warning", "RayJobRecreated") in fake.events
    assert [ref["uid"] for ref in fake.objects[RAYJOB]["metadata"]["ownerReferences"]] == [UID]
    condition = status.condition("Provisioned") if status else None
    assert condition is not None and condition.status == "True"


def test_a_refused_re_creation_says_why(fake: FakeKube) -> None:
    provisioned(fake)
    del fake.objects[RAYJOB]
    fake.refuse["RayJob"] = 403
    status = sync()  # reported, not raised: the next event or resync tries again
    condition = status.condition("Provisioned") if status else None
    assert condition is not None and condition.status == "False" and condition.reason == "Forbidden"
    del fake.refuse["RayJob"]
    assert sync() is not None and ("Warning", "RayJobRecreated") in fake.events


# -- progress that cannot be read ------------------------------------------------------------------
def test_unreadable_progress_keeps_the_status_and_is_logged_once_per_reason(
        fake: FakeKube, caplog: pytest.LogCaptureFixture) -> None:
    provisioned(fake)
    fake.objects[PROGRESS] = progress_configmap(owned_by(UID), snapshot=snapshot(
        trial("a", 0.2), resumed=1))
    good = sync()
    assert good is not None and good.resumed == 1
    with caplog.at_level(logging.WARNING, logger=campaigns.__name__):
        for raw in ['{"phase": "Hibernating"}', '{"phase": "Hibernating"}', '{"phase": "Runn']:
            fake.objects[PROGRESS] = progress_configmap(owned_by(UID), snapshot=raw)
            kept = sync()
            assert kept is not None and kept.resumed == 1 and kept.best_trial == good.best_trial
            assert kept.condition("ProgressUnreadable").status == "True"  # type: ignore[union-attr]
    assert ["phase:" in r.getMessage() for r in caplog.records] == [True, False]
    assert "not JSON" in caplog.records[1].getMessage()
    fake.objects[PROGRESS] = progress_configmap(owned_by(UID), snapshot=snapshot(
        trial("a", 0.2), resumed=2))
    recovered = sync()
    assert recovered is not None and recovered.resumed == 2
    assert recovered.condition("ProgressUnreadable") is None
    assert fake.status() == recovered


# -- a status this operator cannot read -----------------------------------------------------------
def test_a_campaign_whose_status_cannot_be_read_is_left_alone(
        fake: FakeKube, caplog: pytest.LogCaptureFixture) -> None:
    body = fake.campaign()
    body["status"] = {"phase": "Archived", "resumed": 4}  # a newer operator's
    with caplog.at_level(logging.WARNING, logger=campaigns.__name__):
        assert sync() is None and sync() is None
        campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
        campaigns.spec_changed(body, OperatorSettings(), Metrics(), LOG)
    assert fake.patches == [] and fake.created == [] and fake.events == []
    assert [r.getMessage().split(": ")[:3] for r in caplog.records] == [
        [f"HPOCampaign {NS}/{NAME}", "status", "phase"]]
    # Nor does it get a resync daemon; a filter that raised would block its clean-up too.
    assert not handlers._unfinished(status=kopf.Body(body).status)
    assert handlers._unfinished(status=kopf.Body({"status": {"phase": "Running"}}).status)


# -- the objective's mode -------------------------------------------------------------------------
def test_trials_are_ranked_by_the_mode_of_the_spec(fake: FakeKube) -> None:
    status = running()
    status.top_trials = [trial("low", 0.1)]
    fake.campaign(status, objective={"metric": "loss", "mode": "max"})
    fake.objects[RAYJOB] = rayjob(owned_by(UID), "Running", "RUNNING")
    fake.objects[PROGRESS] = progress_configmap(owned_by(UID), snapshot=snapshot(
        trial("high", 0.9)))
    synced = sync()
    assert synced is not None and [t.id for t in synced.top_trials] == ["high", "low"]


def test_a_spec_that_does_not_validate_is_not_synced(fake: FakeKube) -> None:
    body = fake.campaign(CampaignStatus())
    del body["spec"]["objective"]["mode"]
    assert sync() == CampaignStatus()
    assert fake.patches == [] and fake.created == []


def test_a_corrected_spec_keeps_nothing_of_its_rejection(fake: FakeKube) -> None:
    body = fake.campaign(CampaignStatus(), budget={"trials": 0})
    campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
    assert fake.status().phase is Phase.VALIDATION_FAILED
    campaigns.spec_changed(fake.campaign(fake.status()), OperatorSettings(), Metrics(), LOG)
    stored = fake.objects["HPOCampaign", NAME]["status"]
    assert stored["phase"] != "ValidationFailed" and "completionTime" not in stored
    assert "spec is invalid" not in stored.get("message", "")
