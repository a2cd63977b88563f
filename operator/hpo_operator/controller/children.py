"""A campaign's children: create the missing ones, and never adopt one that is not the campaign's.

Provisioning and the re-creation of a RayJob lost while its campaign runs both go through
:func:`ensure_children`, so both refuse a child in the way and say why a create was refused.
"""

from __future__ import annotations

from typing import Any

import kopf

from .. import kube
from ..campaign.spec import Campaign
from ..kuberay import names
from ..kuberay.render import build_objects
from ..kuberay.security import new_token
from .settings import OperatorSettings

# The Provisioned condition's reason when the API refuses a child, by HTTP status (409 means it
# exists, 429 to try again later: neither is a failure to report).
_CREATE_FAILURES = {403: "Forbidden", 404: "NotFound", 422: "Invalid"}


class ChildBlocked(Exception):
    """A child the campaign cannot have now. ``reason`` and the message go to the Provisioned
    condition; ``retry`` is what kopf gets, so that it tries the handler again."""

    def __init__(self, reason: str, message: str, retry: Exception) -> None:
        super().__init__(message)
        self.reason, self.retry = reason, retry


def ensure_children(body: dict[str, Any], campaign: Campaign,
                    settings: OperatorSettings) -> list[str]:
    """Create the campaign's missing children, in order; returns what was created. Provisioning
    and the re-creation of a lost RayJob both come here.

    A child that exists but is not this campaign's (an earlier campaign of the same name left it,
    e.g. a RayJob that KubeRay's finalizer keeps for a while after its deletion, or any unowned
    one) is never adopted: the driver would run the old manifest, the status would show the old
    result. Nothing after it is created meanwhile, and :class:`ChildBlocked` says why, as it does
    for a create the API refuses (no RayJob CRD, no permission, an invalid object).
    """
    uid = body["metadata"].get("uid")
    try:
        # A new token each time: it is used only if the Secret is missing (one that exists keeps
        # the token its Ray cluster runs with).
        objects = build_objects(campaign, settings.cluster_defaults(), uid, token=new_token())
    except Exception as exc:  # a bug: every retry would build the same objects, and fail again
        raise ChildBlocked("BuildFailed", f"cannot build the campaign's objects: "
                                          f"{type(exc).__name__}: {exc}", exc) from exc
    created = []
    for obj in objects:
        what = f"{obj['kind']} {obj['metadata']['name']}"
        try:
            if kube.create_if_absent(obj):
                created.append(what.replace(" ", "/"))
                continue
            existing = _get_child(obj)
        except kube.KubeError as exc:
            if 400 <= exc.status < 500 and exc.status not in (409, 429):
                hint = (" (is KubeRay, with its RayJob CRD, installed?)"
                        if exc.status == 404 and obj["kind"] == names.RAYJOB_KIND else "")
                raise ChildBlocked(_CREATE_FAILURES.get(exc.status, "CreateFailed"),
                                   f"{exc}{hint}", exc) from exc
            raise
        if owned(existing, uid) is None:
            why, delay = _foreign(existing)
            message = f"{what} exists but is not this campaign's ({why}): waiting for it to go"
            raise ChildBlocked("ChildOfAnotherCampaign", message,
                               kopf.TemporaryError(message, delay=delay))
    return created


def _get_child(obj: dict[str, Any]) -> dict[str, Any] | None:
    meta = obj["metadata"]
    return kube.get_metadata(obj["kind"], meta["namespace"], meta["name"])


def owned(obj: dict[str, Any] | None, uid: str | None) -> dict[str, Any] | None:
    """``obj`` when it is a live child of the campaign with this uid, else None."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    refs = meta.get("ownerReferences") or []
    return obj if uid is None or any(ref.get("uid") == uid for ref in refs) else None


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
