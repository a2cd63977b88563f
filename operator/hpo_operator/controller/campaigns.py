"""What the operator does for a campaign: provision its children, sync its status, clean up.

Each action reads through :mod:`hpo_operator.kube`, decides with pure functions
(:mod:`.reconcile`, the builders in :mod:`hpo_operator.kuberay`), and writes back through
:mod:`hpo_operator.kube`: children only through :func:`.children.ensure_children`, statuses only
through :func:`_apply`, each computed by :mod:`.reconcile`. All of them are idempotent, so kopf
may call them again after a retry or an operator restart.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Any

import kopf

from .. import kube
from ..campaign.manifest import ManifestError, parse_campaign
from ..campaign.spec import Campaign
from ..campaign.status import CampaignStatus, Phase
from ..campaign.status_io import StatusUnreadable, parse_status
from ..kuberay import names
from . import reconcile
from .children import ChildBlocked, ensure_children, owned
from .liveness import driver_liveness
from .locks import CampaignLocks
from .metrics import Metrics
from .settings import OperatorSettings


class ProblemLog:
    """Warns of a campaign's problem once per distinct reason: a sync on every event and every
    resync must not repeat it. A problem that clears is forgotten, so that it is told again if it
    comes back."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._told: dict[tuple[str, str, str], str] = {}

    def tell(self, namespace: str, name: str, topic: str, message: str) -> None:
        with self._guard:
            if self._told.get((namespace, name, topic)) == message:
                return
            self._told[namespace, name, topic] = message
        _log.warning("HPOCampaign %s/%s: %s", namespace, name, message)

    def clear(self, namespace: str, name: str, topic: str) -> None:
        with self._guard:
            self._told.pop((namespace, name, topic), None)

    def forget(self, namespace: str, name: str) -> None:
        with self._guard:
            for key in [key for key in self._told if key[:2] == (namespace, name)]:
                del self._told[key]


_locks = CampaignLocks()
_problems = ProblemLog()
_log = logging.getLogger(__name__)


def provision(body: dict[str, Any], settings: OperatorSettings, metrics: Metrics,
              logger: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """Validate a campaign, then create its ConfigMaps and RayJob unless they exist."""
    namespace, name = _key(body)
    current = _own_status(body)
    if current is None or current.phase.terminal:
        return  # finished (or rejected) before a restart, or unreadable: nothing to create
    try:
        campaign = _parse(body)
        settings.check_limits(campaign)
    except ManifestError as exc:
        status = reconcile.validation_failed(exc.problems)
        _apply(namespace, name, current, status)
        kopf.event(body, type="Warning", reason="ValidationFailed", message=status.message or "")
        metrics.observe(namespace, name, status)
        logger.warning("rejected: %s", status.message)
        return
    try:
        created = ensure_children(body, campaign, settings)
    except ChildBlocked as blocked:
        return _report_blocked(body, blocked, metrics)
    if created:
        kopf.event(body, type="Normal", reason="Provisioned",
                   message=f"created {', '.join(created)}")
        logger.info("created %s", ", ".join(created))
    sync(namespace, name, settings, metrics, "provision")


def _report_blocked(body: dict[str, Any], blocked: ChildBlocked, metrics: Metrics) -> None:
    """Record why the children are missing (``Provisioned``), then raise ``blocked.retry`` for kopf
    unless that ended the campaign: a child refused for good (a 4xx but 409, 429) or unbuildable."""
    namespace, name = _key(body)
    final = not isinstance(blocked.retry, kopf.TemporaryError)
    with _locks.hold(namespace, name):
        try:
            fresh = kube.get_campaign(namespace, name)
            old = _own_status(fresh) if fresh and not _deleting(fresh) else None
            if old is not None and not old.phase.terminal:
                decide = reconcile.provisioning_failed if final else reconcile.not_provisioned
                new = decide(old, blocked.reason, str(blocked))
                _apply(namespace, name, old, new)
                metrics.observe(namespace, name, new)
        except kube.KubeError as exc:
            _log.warning("cannot record %s on %s/%s: %s", blocked.reason, namespace, name, exc)
            final = False  # not recorded: kopf tries again
    if not final:
        raise blocked.retry
    kopf.event(body, type="Warning", reason=reconcile.PROVISIONING_FAILED, message=str(blocked))


def spec_changed(body: dict[str, Any], settings: OperatorSettings, metrics: Metrics,
                 logger: logging.Logger | logging.LoggerAdapter[Any], retry: int = 0) -> None:
    """A rejected campaign's corrected spec is validated again; any other change is refused.

    The CRD's transition rule refuses such edits at the API server already; this covers API
    servers that do not evaluate CEL rules, so that an ignored edit is never silent. ``retry`` is
    kopf's count of earlier attempts at this change: one that got past validation and then failed
    to provision left the campaign Pending or Provisioning, and provisioning is tried again.
    """
    namespace, name = _key(body)
    current = _own_status(body)
    if current is None:
        return
    if retry and current.phase in (Phase.PENDING, Phase.PROVISIONING):
        provision(body, settings, metrics, logger)
        return
    if current.phase is not Phase.VALIDATION_FAILED:
        message = ("the spec changed after the campaign was accepted; the change is ignored (its "
                   "Ray Tune experiment was built from the first spec): delete and re-create it")
        kopf.event(body, type="Warning", reason="SpecChangeIgnored", message=message)
        logger.warning(message)
        return
    pending = reconcile.spec_corrected()
    _apply(namespace, name, current, pending)
    logger.info("spec corrected after ValidationFailed: validating again")
    provision({**body, "status": pending.to_dict()}, settings, metrics, logger)


def sync(namespace: str, name: str, settings: OperatorSettings, metrics: Metrics,
         trigger: str) -> CampaignStatus | None:
    """Fold the RayJob and the driver's progress into the campaign's status; post milestones.

    Objectives are ranked by the mode of the campaign's spec, which validation requires and the
    CRD keeps from changing once accepted; a spec that does not validate is not synced (the
    campaign is provisioning's to reject). A campaign whose status cannot be read is left alone.
    """
    with _locks.hold(namespace, name), metrics.timed(trigger):
        body = kube.get_campaign(namespace, name)
        if body is None or _deleting(body):
            return None
        old = _own_status(body)
        if old is None or old.phase is Phase.VALIDATION_FAILED:
            return old
        try:
            campaign = _parse(body)
        except ManifestError:
            return old
        rayjob, blocked = _rayjob(body, campaign, old, settings)
        new = reconcile.fold(old, rayjob, _progress(body), campaign.spec.objective.mode)
        new = driver_liveness(new, datetime.now(timezone.utc), settings.driver_stall_seconds)
        if blocked is not None:
            new = reconcile.not_provisioned(new, blocked.reason, str(blocked))
        _apply(namespace, name, old, new)
        for milestone in reconcile.milestones(old, new):
            kopf.event(body, type=milestone.type, reason=milestone.reason,
                       message=milestone.message)
        metrics.observe(namespace, name, new)
        return new


def _rayjob(body: dict[str, Any], campaign: Campaign, status: CampaignStatus,
            settings: OperatorSettings) -> tuple[dict[str, Any] | None, ChildBlocked | None]:
    """The campaign's RayJob, or why it cannot have one now. One that disappears while the campaign
    runs is created again: its driver resumes the experiment from storage (to stop a campaign,
    delete the campaign). One still in the way (the deleted RayJob, until KubeRay's finalizer lets
    it go) blocks that until a later sync: its deletion event brings one."""
    namespace, name = _key(body)
    uid = body["metadata"].get("uid")
    # Children of an earlier campaign of the same name (still being deleted) are not read.
    rayjob = owned(kube.get_rayjob(namespace, names.rayjob_name(name)), uid)
    if rayjob is not None or not reconcile.children_expected(status):
        return rayjob, None
    try:
        created = ensure_children(body, campaign, settings)
    except ChildBlocked as blocked:
        return None, blocked
    if created:
        kopf.event(body, type="Warning", reason="RayJobRecreated",
                   message=f"{', '.join(created)} disappeared while the campaign ran and was "
                           "created again: the driver resumes the experiment from storage")
    return owned(kube.get_rayjob(namespace, names.rayjob_name(name)), uid), None


def _progress(body: dict[str, Any]) -> CampaignStatus | StatusUnreadable | None:
    """The driver's latest progress, None before it published any, or why it cannot be read."""
    namespace, name = _key(body)
    configmap_name = names.progress_configmap_name(name)
    configmap = owned(kube.get_configmap(namespace, configmap_name), body["metadata"].get("uid"))
    raw = ((configmap or {}).get("data") or {}).get(names.PROGRESS_KEY)
    if raw is None:
        return None
    try:
        progress = parse_status(raw, source=f"progress ConfigMap {namespace}/{configmap_name}")
    except StatusUnreadable as exc:
        _problems.tell(namespace, name, "progress", f"{exc}; the last readable progress is kept")
        return exc
    _problems.clear(namespace, name, "progress")
    return progress


def _own_status(body: dict[str, Any]) -> CampaignStatus | None:
    """The campaign's status; None when it cannot be read (say, a newer operator wrote it).

    Such a campaign is left alone, with a warning in the log once per reason: writing a status
    over one this operator cannot read would destroy it, re-provisioning could run a finished
    campaign again, and raising would only make kopf retry the handler for ever.
    """
    namespace, name = _key(body)
    try:
        status = parse_status(body.get("status"), source="status")
    except StatusUnreadable as exc:
        _problems.tell(namespace, name, "status", f"{exc}; the campaign is left alone")
        return None
    _problems.clear(namespace, name, "status")
    return status


def _apply(namespace: str, name: str, old: CampaignStatus, new: CampaignStatus) -> None:
    """The one writer of campaign status: patches what differs from ``old``, if anything."""
    patch = reconcile.status_patch(old, new)
    if patch is not None:
        kube.patch_campaign_status(namespace, name, patch)


def cleanup(namespace: str, name: str, uid: str | None, metrics: Metrics,
            logger: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """Delete what the campaign object with this ``uid`` owns, and nothing else: an object that
    only has a child's name is another's (provisioning refused to adopt it)."""
    # Under the campaign's lock: a sync in flight could otherwise re-create the RayJob just
    # deleted, or observe metrics just forgotten.
    with _locks.hold(namespace, name):
        deleted = kube.delete_children(namespace, name, uid)
        metrics.forget(namespace, name)
        _problems.forget(namespace, name)
    if deleted:
        logger.info("deleted %s", ", ".join(deleted))


def _key(body: dict[str, Any]) -> tuple[str, str]:
    return body["metadata"]["namespace"], body["metadata"]["name"]


def _deleting(body: dict[str, Any]) -> bool:
    return bool(body["metadata"].get("deletionTimestamp"))


def _parse(body: dict[str, Any]) -> Campaign:
    namespace, name = _key(body)
    return parse_campaign(_manifest(body), source=f"HPOCampaign {namespace}/{name}")


def _manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The campaign as a manifest: what the user wrote, without what the cluster added."""
    meta = body["metadata"]
    return {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         **({"uid": meta["uid"]} if meta.get("uid") else {})},
            "spec": dict(body.get("spec") or {})}
