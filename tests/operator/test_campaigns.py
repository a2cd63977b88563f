"""The operator's actions (provision, sync, clean up) against an in-memory stand-in for
:mod:`hpo_operator.kube`: no cluster, no kopf process."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import threading
import time
from typing import Any

import kopf
import pytest

from hpo_operator.campaign.status import CampaignStatus, Phase, TrialSummary
from hpo_operator import kube
from hpo_operator.controller import campaigns
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names

from .conftest import campaign_doc

NS, NAME, UID = "default", "toy", "uid-new"
LOG = logging.getLogger("test")


class FakeKube:
    """The Kubernetes API as :mod:`.kube` presents it: dicts keyed by (kind, name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.created: list[str] = []
        self.events: list[tuple[str, str]] = []
        self.refuse: dict[str, int] = {}  # kind -> HTTP status its creation gets

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeKube:
        for fn in ("get_campaign", "get_rayjob", "get_configmap", "create_if_absent",
                   "patch_campaign_status", "delete_children", "delete_configmap"):
            monkeypatch.setattr(kube, fn, getattr(self, fn))
        monkeypatch.setattr(kopf, "event", lambda body, *, type, reason, message: (
            self.events.append((type, reason))))
        return self

    def get_campaign(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(("HPOCampaign", name))

    def get_rayjob(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(("RayJob", name))

    def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(("ConfigMap", name))

    def create_if_absent(self, obj: dict[str, Any]) -> bool:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind in self.refuse:
            raise kube.KubeError(f"create {kind} {NS}/{name}: HTTP {self.refuse[kind]}",
                                 self.refuse[kind])
        if (kind, name) in self.objects:
            return False
        self.objects[kind, name] = obj
        self.created.append(f"{kind}/{name}")
        return True

    def patch_campaign_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        body = self.objects["HPOCampaign", name]
        body["status"] = {**(body.get("status") or {}), **status}

    def delete_children(self, namespace: str, campaign: str) -> list[str]:
        gone = [k for k in self.objects if k[0] != "HPOCampaign"]
        for key in gone:
            del self.objects[key]
        return [f"{kind}/{name}" for kind, name in gone]

    def delete_configmap(self, namespace: str, name: str) -> None:
        del self.objects["ConfigMap", name]

    # -- helpers for the tests ---------------------------------------------------------------
    def campaign(self, status: CampaignStatus | None = None) -> dict[str, Any]:
        body = campaign_doc(NAME)
        body["metadata"]["uid"] = UID
        if status is not None:
            body["status"] = status.to_dict()
        self.objects["HPOCampaign", NAME] = body
        return body

    def status(self) -> CampaignStatus:
        return CampaignStatus.model_validate(self.objects["HPOCampaign", NAME].get("status") or {})


def owned_by(uid: str | None, **meta: Any) -> dict[str, Any]:
    refs = [names.owner_reference(NAME, uid)] if uid else []
    return {"ownerReferences": refs, **meta}


def finished_rayjob(meta: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "RayJob", "metadata": {"name": names.rayjob_name(NAME), **meta},
            "status": {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}}


def progress_configmap(meta: dict[str, Any], best: float = 0.125) -> dict[str, Any]:
    best_trial = TrialSummary(id="t1", config={}, metric=best, iteration=1)
    progress = CampaignStatus(phase=Phase.SUCCEEDED, metric="loss", message="best loss 0.125",
                              best_trial=best_trial, top_trials=[best_trial])
    return {"kind": "ConfigMap", "metadata": {
                "name": names.progress_configmap_name(NAME),
                "labels": names.labels(NAME, "progress"), **meta},
            "data": {names.PROGRESS_KEY: json.dumps(progress.to_dict())}}


def running() -> CampaignStatus:
    status = CampaignStatus(phase=Phase.RUNNING)
    status.set_condition("Provisioned", True, "RayJobCreated")
    return status


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    return FakeKube().install(monkeypatch)


# -- children of an earlier campaign of the same name --------------------------------------------
@pytest.mark.parametrize("stale", [
    owned_by("uid-old"),
    owned_by(UID, deletionTimestamp="2026-01-01T00:00:00Z"),
], ids=["other-owner", "being-deleted"])
def test_sync_never_adopts_an_earlier_campaigns_result(fake: FakeKube,
                                                       stale: dict[str, Any]) -> None:
    fake.campaign(running())
    fake.objects["ConfigMap", names.manifest_configmap_name(NAME)] = {
        "kind": "ConfigMap", "metadata": {"name": names.manifest_configmap_name(NAME),
                                          **owned_by(UID)}}
    fake.objects["RayJob", names.rayjob_name(NAME)] = finished_rayjob(stale)
    fake.objects["ConfigMap", names.progress_configmap_name(NAME)] = progress_configmap(stale)
    status = campaigns.sync(NS, NAME, OperatorSettings(), Metrics(), "test")
    assert status is not None and status.phase is Phase.RUNNING
    assert status.best_trial is None
    assert ("Normal", "Succeeded") not in fake.events
    # Its RayJob looks missing, so re-creating it is tried; the old one is in the way.
    assert fake.created == [] and ("Warning", "RayJobRecreated") not in fake.events


def test_sync_reads_its_own_children(fake: FakeKube) -> None:
    fake.campaign(running())
    fake.objects["RayJob", names.rayjob_name(NAME)] = finished_rayjob(owned_by(UID))
    fake.objects["ConfigMap", names.progress_configmap_name(NAME)] = progress_configmap(
        owned_by(UID))
    status = campaigns.sync(NS, NAME, OperatorSettings(), Metrics(), "test")
    assert status is not None and status.phase is Phase.SUCCEEDED
    assert status.best_trial is not None and status.best_trial.id == "t1"


def test_provision_waits_until_an_earlier_campaigns_rayjob_is_gone(fake: FakeKube) -> None:
    body = fake.campaign()
    fake.objects["RayJob", names.rayjob_name(NAME)] = finished_rayjob(
        owned_by("uid-old", deletionTimestamp="2026-01-01T00:00:00Z"))
    with pytest.raises(kopf.TemporaryError, match="being deleted"):
        campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
    condition = fake.status().condition("Provisioned")
    assert condition is not None and condition.status == "False"
    assert condition.reason == "ChildOfAnotherCampaign"
    assert "Provisioned" not in [reason for _, reason in fake.events]

    del fake.objects["RayJob", names.rayjob_name(NAME)]  # KubeRay's finalizer is done
    campaigns.provision(fake.campaign(fake.status()), OperatorSettings(), Metrics(), LOG)
    rayjob = fake.objects["RayJob", names.rayjob_name(NAME)]
    assert [ref["uid"] for ref in rayjob["metadata"]["ownerReferences"]] == [UID]
    condition = fake.status().condition("Provisioned")
    assert condition is not None and condition.status == "True"


def test_provision_replaces_an_unowned_progress_configmap(fake: FakeKube) -> None:
    fake.objects["ConfigMap", names.progress_configmap_name(NAME)] = progress_configmap(
        owned_by(None))
    with pytest.raises(kopf.TemporaryError):
        campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    configmap = fake.objects["ConfigMap", names.progress_configmap_name(NAME)]
    assert [ref["uid"] for ref in configmap["metadata"]["ownerReferences"]] == [UID]
    assert fake.status().best_trial is None  # the old campaign's progress is not read


# -- provisioning the API refuses ------------------------------------------------------------------
@pytest.mark.parametrize("code, reason", [(403, "Forbidden"), (404, "NotFound"), (422, "Invalid")])
def test_a_refused_create_says_why_in_the_status(fake: FakeKube, code: int, reason: str) -> None:
    fake.refuse["RayJob"] = code
    with pytest.raises(kube.KubeError):  # kopf retries the handler
        campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    condition = fake.status().condition("Provisioned")
    assert condition is not None and condition.status == "False" and condition.reason == reason
    assert f"HTTP {code}" in condition.message
    assert ("KubeRay" in condition.message) == (code == 404)
    assert fake.status().phase is Phase.PROVISIONING


@pytest.mark.parametrize("code", [429, 500])
def test_transient_create_failures_are_only_retried(fake: FakeKube, code: int) -> None:
    fake.refuse["RayJob"] = code
    with pytest.raises(kube.KubeError):
        campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    assert fake.status().condition("Provisioned") is None


def test_a_retried_spec_correction_provisions_again(fake: FakeKube) -> None:
    """kopf retries the update handler after a failed provisioning: the campaign is then Pending."""
    body = fake.campaign(CampaignStatus(phase=Phase.PENDING))
    campaigns.spec_changed(body, OperatorSettings(), Metrics(), LOG, retry=1)
    assert f"RayJob/{names.rayjob_name(NAME)}" in fake.created
    assert ("Warning", "SpecChangeIgnored") not in fake.events
    campaigns.spec_changed(fake.campaign(running()), OperatorSettings(), Metrics(), LOG)
    assert ("Warning", "SpecChangeIgnored") in fake.events


# -- one sync or clean-up per campaign at a time ---------------------------------------------------
def test_cleanup_waits_for_a_sync_in_flight(fake: FakeKube,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake.campaign(running())
    fake.objects["RayJob", names.rayjob_name(NAME)] = finished_rayjob(owned_by(UID))
    inside, release = threading.Event(), threading.Event()
    active, most = [0], [0]

    def slow_get_rayjob(namespace: str, name: str) -> dict[str, Any] | None:
        active[0] += 1
        most[0] = max(most[0], active[0])
        inside.set()
        release.wait(5)
        active[0] -= 1
        return fake.get_rayjob(namespace, name)

    monkeypatch.setattr(kube, "get_rayjob", slow_get_rayjob)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first = pool.submit(campaigns.sync, NS, NAME, OperatorSettings(), Metrics(), "a")
        assert inside.wait(5)
        cleanup = pool.submit(campaigns.cleanup, NS, NAME, Metrics(), LOG)
        second = pool.submit(campaigns.sync, NS, NAME, OperatorSettings(), Metrics(), "b")
        time.sleep(0.3)
        assert not cleanup.done()
        assert ("RayJob", names.rayjob_name(NAME)) in fake.objects
        release.set()
        first.result(5), cleanup.result(5), second.result(5)
    assert most[0] == 1  # never two syncs of one campaign at once
    assert len(campaigns._locks) == 0  # nothing kept for a campaign nobody waits on


def test_campaign_locks_are_one_per_campaign_and_dropped_when_free() -> None:
    locks = campaigns.CampaignLocks()
    with locks.hold("ns", "a"), locks.hold("ns", "b"):  # different campaigns: no waiting
        assert len(locks) == 2
    assert len(locks) == 0
