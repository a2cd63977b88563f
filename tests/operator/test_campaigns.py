"""The operator's actions (provision, sync, clean up) against an in-memory stand-in for
:mod:`hpo_operator.kube`: no cluster, no kopf process."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

import kopf
import pytest
from hpo_operator import kube
from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator.controller import campaigns, children
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names

from .fake_kube import (
    LOG,
    NAME,
    NS,
    UID,
    FakeKube,
    finished_rayjob,
    owned_by,
    progress_configmap,
    running,
)


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
    # Its RayJob looks missing, so re-creating it is tried; the old one is in the way, and the
    # Provisioned condition says so, as it does when provisioning.
    assert fake.created == [] and ("Warning", "RayJobRecreated") not in fake.events
    condition = status.condition("Provisioned")
    assert condition is not None and condition.status == "False"
    assert condition.reason == "ChildOfAnotherCampaign"
    assert "waiting for it to go" in condition.message
    assert fake.status() == status


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


def test_an_unowned_progress_configmap_is_refused_like_any_foreign_child(fake: FakeKube) -> None:
    """It is not the campaign's: neither read nor deleted, and the status says what to do."""
    fake.objects["ConfigMap", names.progress_configmap_name(NAME)] = progress_configmap(
        owned_by(None))
    with pytest.raises(kopf.TemporaryError, match="owned by nothing"):
        campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    condition = fake.status().condition("Provisioned")
    assert condition is not None and condition.reason == "ChildOfAnotherCampaign"
    assert f"RayJob/{names.rayjob_name(NAME)}" not in fake.created
    assert ("ConfigMap", names.progress_configmap_name(NAME)) in fake.objects
    assert fake.status().best_trial is None  # the old campaign's progress is not read


def test_cleanup_deletes_only_what_the_campaign_owns(fake: FakeKube) -> None:
    """Objects with a child's name that are another's (an earlier campaign's, or nobody's) survive
    the campaign's deletion; with no uid to go by, nothing is deleted."""
    campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    ours = set(names.children(NAME))
    assert ours <= set(fake.objects)
    foreign = {
        ("ConfigMap", names.progress_configmap_name(NAME)): progress_configmap(owned_by("uid-old")),
        ("ConfigMap", names.manifest_configmap_name(NAME)): {
            "kind": "ConfigMap", "metadata": {"name": names.manifest_configmap_name(NAME)}},
    }
    fake.objects.update(foreign)
    campaigns.cleanup(NS, NAME, None, Metrics(), LOG)
    assert ours <= set(fake.objects)
    campaigns.cleanup(NS, NAME, UID, Metrics(), LOG)
    assert {key: fake.objects.get(key) for key in foreign} == foreign
    assert ours - set(fake.objects) == ours - set(foreign)


# -- provisioning the API refuses ------------------------------------------------------------------
@pytest.mark.parametrize("code, reason", [(400, "CreateFailed"), (403, "Forbidden"),
                                         (404, "NotFound"), (422, "Invalid")])
def test_a_create_refused_for_good_ends_the_campaign(fake: FakeKube, code: int,
                                                     reason: str) -> None:
    """kopf would retry it for ever: the campaign ends Failed, reason ProvisioningFailed."""
    fake.refuse["RayJob"] = code
    campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)  # no retry
    status = fake.status()
    condition = status.condition("Provisioned")
    assert condition is not None and condition.status == "False" and condition.reason == reason
    assert f"HTTP {code}" in condition.message
    assert ("KubeRay" in condition.message) == (code == 404)
    assert status.phase is Phase.FAILED and status.phase.terminal
    assert status.condition("Complete").reason == "ProvisioningFailed"  # type: ignore[union-attr]
    assert ("Warning", "ProvisioningFailed") in fake.events
    campaigns.provision(fake.campaign(status), OperatorSettings(), Metrics(), LOG)
    assert fake.status() == status  # final: a resumed operator leaves it alone


def test_objects_that_cannot_be_built_end_the_campaign(fake: FakeKube,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> list[dict[str, Any]]:
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(children, "build_objects", broken)
    campaigns.provision(fake.campaign(), OperatorSettings(), Metrics(), LOG)
    status = fake.status()
    assert status.phase is Phase.FAILED and fake.created == []
    condition = status.condition("Provisioned")
    assert condition is not None and condition.reason == "BuildFailed"
    assert "OverflowError: cannot convert float infinity" in condition.message


def test_a_campaign_over_the_installation_limits_is_rejected(fake: FakeKube) -> None:
    body = fake.campaign(resources={"cluster": {"workers": 9, "cpusPerWorker": 4}})
    campaigns.provision(body, OperatorSettings(max_workers=8, max_cpus_per_pod=2),
                        Metrics(), LOG)
    status = fake.status()
    assert status.phase is Phase.VALIDATION_FAILED and fake.created == []
    assert "spec.resources.cluster.workers: exceeds this installation's limit of 8 (the " \
           "chart's campaigns.maxWorkers) (got 9)" in (status.message or "")
    assert "spec.resources.cluster.cpusPerWorker" in (status.message or "")


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
        cleanup = pool.submit(campaigns.cleanup, NS, NAME, UID, Metrics(), LOG)
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
