"""What the operator does for a campaign: provision its children, sync its status, clean up.

Each action reads through :mod:`.kube`, decides with pure functions (:mod:`.reconcile`, the
builders in :mod:`hpo_operator.kuberay`), and writes back through :mod:`.kube`. All of them are
idempotent, so kopf may call them again after a retry or an operator restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from typing import Any

import kopf

from ..campaign.manifest import ManifestError, parse_campaign
from ..campaign.status import CampaignStatus, Phase
from ..kuberay import names
from ..kuberay.render import build_objects
from . import kube, reconcile
from .metrics import Metrics
from .settings import OperatorSettings

# Status syncs of one campaign run one at a time (RayJob and progress events arrive together);
# otherwise two threads could both see the same change and post its event twice.
_locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)


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
    created = [obj["kind"] + "/" + obj["metadata"]["name"]
               for obj in build_objects(campaign, settings.cluster_defaults(), meta.get("uid"))
               if kube.create_if_absent(obj)]
    if created:
        kopf.event(body, type="Normal", reason="Provisioned",
                   message=f"created {', '.join(created)}")
        logger.info("created %s", ", ".join(created))
    sync(namespace, name, settings, metrics, "provision")


def spec_changed(body: dict[str, Any], settings: OperatorSettings, metrics: Metrics,
                 logger: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """A rejected campaign's corrected spec is validated again; any other change is refused.

    The CRD's transition rule refuses such edits at the API server already; this covers API
    servers that do not evaluate CEL rules, so that an ignored edit is never silent.
    """
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    if reconcile.parse_status(body.get("status")).phase is not Phase.VALIDATION_FAILED:
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
    with _locks[namespace, name], metrics.timed(trigger):
        body = kube.get_campaign(namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        old = reconcile.parse_status(body.get("status"))
        if old.phase is Phase.VALIDATION_FAILED:
            return old
        rayjob = kube.get_rayjob(namespace, names.rayjob_name(name))
        if rayjob is None and _was_provisioned(old):
            rayjob = _recreate(body, settings)
        data = kube.get_configmap_data(namespace, names.progress_configmap_name(name)) or {}
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
    created = [obj["kind"] + "/" + obj["metadata"]["name"]
               for obj in build_objects(campaign, settings.cluster_defaults(), meta.get("uid"))
               if kube.create_if_absent(obj)]
    if created:
        kopf.event(body, type="Warning", reason="RayJobRecreated",
                   message=f"{', '.join(created)} disappeared while the campaign ran and was "
                           "created again: the driver resumes the experiment from storage")
    return kube.get_rayjob(meta["namespace"], names.rayjob_name(meta["name"]))


def cleanup(namespace: str, name: str, metrics: Metrics,
            logger: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    deleted = kube.delete_children(namespace, name)
    metrics.forget(namespace, name)
    _locks.pop((namespace, name), None)
    if deleted:
        logger.info("deleted %s", ", ".join(deleted))


def _manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The campaign as a manifest: what the user wrote, without what the cluster added."""
    meta = body["metadata"]
    return {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         **({"uid": meta["uid"]} if meta.get("uid") else {})},
            "spec": dict(body.get("spec") or {})}
