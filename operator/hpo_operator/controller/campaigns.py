"""What the operator does for a campaign: provision its children, sync its status, clean up.

Each action reads through :mod:`hpo_operator.kube`, decides with pure functions (:mod:`.reconcile`, the
builders in :mod:`hpo_operator.kuberay`), and writes back through :mod:`hpo_operator.kube`. All of them are
idempotent, so kopf may call them again after a retry or an operator restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kopf

from ..campaign.manifest import ManifestError, parse_campaign
from ..campaign.spec import Campaign
from ..campaign.status import CampaignStatus, Phase
from ..kuberay import names
from ..kuberay.render import build_objects
from .. import kube
from . import reconcile
from .metrics import Metrics
from .settings import OperatorSettings

# The Provisioned condition's reason when the API refuses a child, by HTTP status (409 means it
# exists, 429 to try again later: neither is a failure to report).
_CREATE_FAILURES = {403: "Forbidden", 404: "NotFound", 422: "Invalid"}


class CampaignLocks:
    """One lock per campaign, so that its status syncs and its clean-up run one at a time (RayJob
    and progress events arrive together; two threads could both see the same change and post its
    event twice). A campaign's lock lives while a thread holds or awaits it: deleted campaigns
    leave nothing behind, and a lock in use is never replaced by a second one."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, namespace: str, name: str) -> Iterator[None]:
        key = (namespace, name)
        with self._guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users = self._locks[key][1] - 1
                if users:
                    self._locks[key] = (lock, users)
                else:
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


_locks = CampaignLocks()
_log = logging.getLogger(__name__)


def provision(body: dict[str, Any], settings: OperatorSettings, metrics: Metrics,
              logger: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """Validate a campaign, then create its ConfigMaps and RayJob unless they exist."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    current = reconcile.parse_status(body.get("status"))
    if current.phase.terminal:
        return  # finished (or rejected) before a restart: nothing to recreate
    try:
        campaign = parse_campaign(_manifest(body), source=f"HPOCampaign {namespace}/{name}")
    except ManifestError as exc:
        status = reconcile.validation_failed(exc.problems)
        kube.patch_campaign_status(namespace, name, status.to_dict())
        kopf.event(body, type="Warning", reason="ValidationFailed", message=status.message or "")
        metrics.observe(namespace, name, status)
        logger.warning("rejected: %s", status.message)
        return
    created = _create_children(body, campaign, settings)
    if created:
        kopf.event(body, type="Normal", reason="Provisioned",
                   message=f"created {', '.join(created)}")
        logger.info("created %s", ", ".join(created))
    sync(namespace, name, settings, metrics, "provision")


def _create_children(body: dict[str, Any], campaign: Campaign,
                     settings: OperatorSettings) -> list[str]:
    """Create the campaign's missing children, in order; returns what was created.

    A child that exists but is not this campaign's (an earlier campaign of the same name left it,
    e.g. a RayJob that KubeRay's finalizer keeps for a while after its deletion) is never adopted:
    the driver would run the old manifest, the status would show the old result. Provisioning
    waits for it to go (``kopf.TemporaryError``), and creates nothing after it meanwhile. A create
    the API refuses (no RayJob CRD, no permission, an invalid object) is reported in the
    ``Provisioned`` condition before kopf retries, so that ``kubectl describe`` says why.
    """
    meta = body["metadata"]
    uid = meta.get("uid")
    created = []
    for obj in build_objects(campaign, settings.cluster_defaults(), uid):
        what = f"{obj['kind']} {obj['metadata']['name']}"
        try:
            if kube.create_if_absent(obj):
                created.append(what.replace(" ", "/"))
                continue
            existing = _get_child(obj)
        except kube.KubeError as exc:
            if 400 <= exc.status < 500 and exc.status not in (409, 429):
                hint = (" (is KubeRay, with its RayJob CRD, installed?)"
                        if exc.status == 404 and obj["kind"] == "RayJob" else "")
                _not_provisioned(body, _CREATE_FAILURES.get(exc.status, "CreateFailed"),
                                 f"{exc}{hint}")
            raise
        if _owned(existing, uid) is not None:
            continue
        if existing is not None and _orphaned_progress(existing):
            # Left by a driver that created its ConfigMap when it found none, as drivers once
            # did, even after their campaign was deleted; nothing owns or reads it.
            kube.delete_configmap(meta["namespace"], obj["metadata"]["name"])
            raise kopf.TemporaryError(f"deleted the unowned {what} of an earlier campaign",
                                      delay=1)
        why, delay = _foreign(existing)
        message = f"{what} exists but is not this campaign's ({why}): waiting for it to go"
        _not_provisioned(body, "ChildOfAnotherCampaign", message)
        raise kopf.TemporaryError(message, delay=delay)
    return created


def _get_child(obj: dict[str, Any]) -> dict[str, Any] | None:
    meta = obj["metadata"]
    if obj["kind"] == "RayJob":
        return kube.get_rayjob(meta["namespace"], meta["name"])
    return kube.get_configmap(meta["namespace"], meta["name"])


def _owned(obj: dict[str, Any] | None, uid: str | None) -> dict[str, Any] | None:
    """``obj`` when it is a live child of the campaign with this uid, else None."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    refs = meta.get("ownerReferences") or []
    return obj if uid is None or any(ref.get("uid") == uid for ref in refs) else None


def _orphaned_progress(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return (obj.get("kind", "ConfigMap") == "ConfigMap" and not meta.get("ownerReferences")
            and (meta.get("labels") or {}).get(names.COMPONENT_LABEL) == "progress")


def _foreign(obj: dict[str, Any] | None) -> tuple[str, float]:
    """Why a child is not the campaign's, and how long to wait before looking again."""
    meta = (obj or {}).get("metadata") or {}
    if obj is None:
        return "it was being deleted", 1
    if meta.get("deletionTimestamp"):
        return "it is being deleted", 5
    owners = [f"{ref.get('kind')} uid {ref.get('uid')}" for ref in meta.get("ownerReferences") or []]
    if owners:
        return f"owned by {', '.join(owners)}", 5
    return "owned by nothing: delete it, or give the campaign another name", 30


def _not_provisioned(body: dict[str, Any], reason: str, message: str) -> None:
    """Record why the children are missing in the ``Provisioned`` condition (best effort: the
    caller raises the real error next, and kopf retries the handler)."""
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    with _locks.hold(namespace, name):
        try:
            fresh = kube.get_campaign(namespace, name)
            if fresh is None or fresh["metadata"].get("deletionTimestamp"):
                return
            old = reconcile.parse_status(fresh.get("status"))
            new = reconcile.not_provisioned(old, reason, message)
            if new.to_dict() != old.to_dict():
                kube.patch_campaign_status(namespace, name, new.to_dict())
        except kube.KubeError as exc:
            _log.warning("cannot record %s on %s/%s: %s", reason, namespace, name, exc)


def spec_changed(body: dict[str, Any], settings: OperatorSettings, metrics: Metrics,
                 logger: logging.Logger | logging.LoggerAdapter[Any], retry: int = 0) -> None:
    """A rejected campaign's corrected spec is validated again; any other change is refused.

    The CRD's transition rule refuses such edits at the API server already; this covers API
    servers that do not evaluate CEL rules, so that an ignored edit is never silent. ``retry`` is
    kopf's count of earlier attempts at this change: one that got past validation and then failed
    to provision left the campaign Pending or Provisioning, and provisioning is tried again.
    """
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    phase = reconcile.parse_status(body.get("status")).phase
    if retry and phase in (Phase.PENDING, Phase.PROVISIONING):
        provision(body, settings, metrics, logger)
        return
    if phase is not Phase.VALIDATION_FAILED:
        message = ("the spec changed after the campaign was accepted; the change is ignored (its "
                   "Ray Tune experiment was built from the first spec): delete and re-create it")
        kopf.event(body, type="Warning", reason="SpecChangeIgnored", message=message)
        logger.warning(message)
        return
    pending = CampaignStatus(phase=Phase.PENDING, message="spec corrected: validating again")
    # A merge patch keeps keys it does not name: null out the rejection's leftovers.
    kube.patch_campaign_status(namespace, name, {**pending.to_dict(), "completionTime": None,
                                                 "conditions": None})
    logger.info("spec corrected after ValidationFailed: validating again")
    provision({**body, "status": pending.to_dict()}, settings, metrics, logger)


def sync(namespace: str, name: str, settings: OperatorSettings, metrics: Metrics,
         trigger: str) -> CampaignStatus | None:
    """Fold the RayJob and the driver's progress into the campaign's status; post milestones.

    A RayJob that disappears while its campaign runs is created again: its driver resumes the
    experiment from storage (to stop a campaign, delete the campaign).
    """
    with _locks.hold(namespace, name), metrics.timed(trigger):
        body = kube.get_campaign(namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        old = reconcile.parse_status(body.get("status"))
        if old.phase is Phase.VALIDATION_FAILED:
            return old
        # Children of an earlier campaign of the same name (still being deleted) are not read.
        uid = body["metadata"].get("uid")
        rayjob = _owned(kube.get_rayjob(namespace, names.rayjob_name(name)), uid)
        if rayjob is None and _was_provisioned(old):
            rayjob = _recreate(body, settings)
        configmap = _owned(kube.get_configmap(namespace, names.progress_configmap_name(name)), uid)
        data = (configmap or {}).get("data") or {}
        progress = (reconcile.parse_status(json.loads(data[names.PROGRESS_KEY]))
                    if names.PROGRESS_KEY in data else None)
        mode = ((body.get("spec") or {}).get("objective") or {}).get("mode", "min")
        new = reconcile.fold(old, rayjob, progress, mode)
        if new.to_dict() != old.to_dict():
            kube.patch_campaign_status(namespace, name, new.to_dict())
        for milestone in reconcile.milestones(old, new):
            kopf.event(body, type=milestone.type, reason=milestone.reason,
                       message=milestone.message)
        metrics.observe(namespace, name, new)
        return new


def _was_provisioned(status: CampaignStatus) -> bool:
    provisioned = status.condition("Provisioned")
    return provisioned is not None and provisioned.status == "True" and not status.phase.terminal


def _recreate(body: dict[str, Any], settings: OperatorSettings) -> dict[str, Any] | None:
    meta = body["metadata"]
    source = f"HPOCampaign {meta['namespace']}/{meta['name']}"
    campaign = parse_campaign(_manifest(body), source=source)
    # A child still in the way (the deleted RayJob, until KubeRay's finalizer lets it go) is
    # created by a later sync; its deletion event brings one.
    created = [obj["kind"] + "/" + obj["metadata"]["name"]
               for obj in build_objects(campaign, settings.cluster_defaults(), meta.get("uid"))
               if kube.create_if_absent(obj)]
    if created:
        kopf.event(body, type="Warning", reason="RayJobRecreated",
                   message=f"{', '.join(created)} disappeared while the campaign ran and was "
                           "created again: the driver resumes the experiment from storage")
    return _owned(kube.get_rayjob(meta["namespace"], names.rayjob_name(meta["name"])),
                  meta.get("uid"))


def cleanup(namespace: str, name: str, metrics: Metrics,
            logger: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    # Under the campaign's lock: a sync in flight could otherwise re-create the RayJob just
    # deleted, or observe metrics just forgotten.
    with _locks.hold(namespace, name):
        deleted = kube.delete_children(namespace, name)
        metrics.forget(namespace, name)
    if deleted:
        logger.info("deleted %s", ", ".join(deleted))


def _manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The campaign as a manifest: what the user wrote, without what the cluster added."""
    meta = body["metadata"]
    return {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         **({"uid": meta["uid"]} if meta.get("uid") else {})},
            "spec": dict(body.get("spec") or {})}
