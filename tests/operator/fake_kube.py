"""An in-memory stand-in for :mod:`hpo_operator.kube`, and the children a test puts
in it: the operator's actions run against it with no cluster and no kopf process."""

from __future__ import annotations

import json
import logging
from typing import Any

import kopf
import pytest
from hpo_operator import kube
from hpo_operator.campaign.status import CampaignStatus, Phase, TrialSummary
from hpo_operator.kuberay import names

from .conftest import campaign_doc

NS, NAME, UID = "default", "toy", "uid-new"
LOG = logging.getLogger("test")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies a merge patch: null deletes, objects merge."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


class FakeKube:
    """The Kubernetes API as :mod:`.kube` presents it: dicts keyed by (kind, name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.created: list[str] = []
        self.events: list[tuple[str, str]] = []
        self.patches: list[dict[str, Any]] = []
        self.refuse: dict[str, int] = {}  # kind -> HTTP status its creation gets

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeKube:
        for fn in ("get_campaign", "get_rayjob", "get_configmap", "get_metadata",
                   "create_if_absent", "patch_campaign_status", "delete_children"):
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

    def get_metadata(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind, name))
        return None if found is None else {"metadata": found.get("metadata") or {}}

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
        self.patches.append(status)
        body["status"] = merge_patch(body.get("status") or {}, status)

    def delete_children(self, namespace: str, campaign: str, owner_uid: str | None) -> list[str]:
        """Like the real one: only the children whose owner references carry ``owner_uid``."""
        gone = [key for key in names.children(campaign) if key in self.objects and owner_uid
                and owner_uid in [ref.get("uid") for ref in
                                  self.objects[key]["metadata"].get("ownerReferences") or []]]
        for key in gone:
            del self.objects[key]
        return [f"{kind}/{name}" for kind, name in gone]

    # -- helpers for the tests ---------------------------------------------------------------
    def campaign(self, status: CampaignStatus | None = None, **spec: Any) -> dict[str, Any]:
        body = campaign_doc(NAME, **spec)
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


def rayjob(meta: dict[str, Any], deployment: str = "Complete",
           job: str = "SUCCEEDED") -> dict[str, Any]:
    return {"kind": "RayJob", "metadata": {"name": names.rayjob_name(NAME), **meta},
            "status": {"jobDeploymentStatus": deployment, "jobStatus": job}}


def finished_rayjob(meta: dict[str, Any]) -> dict[str, Any]:
    return rayjob(meta)


def progress_configmap(meta: dict[str, Any], best: float = 0.125,
                       snapshot: str | None = None) -> dict[str, Any]:
    """The progress ConfigMap holding ``snapshot``, by default a finished campaign's."""
    if snapshot is None:
        best_trial = TrialSummary(id="t1", config={}, metric=best, iteration=1)
        progress = CampaignStatus(phase=Phase.SUCCEEDED, metric="loss", message="best loss 0.125",
                                  best_trial=best_trial, top_trials=[best_trial])
        snapshot = json.dumps(progress.to_dict())
    return {"kind": "ConfigMap", "metadata": {
                "name": names.progress_configmap_name(NAME),
                "labels": names.labels(NAME, "progress"), **meta},
            "data": {names.PROGRESS_KEY: snapshot}}


def running() -> CampaignStatus:
    status = CampaignStatus(phase=Phase.RUNNING)
    status.set_condition("Provisioned", True, "RayJobCreated")
    return status
