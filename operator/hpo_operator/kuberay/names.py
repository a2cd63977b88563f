"""Names and labels of everything a campaign owns on Kubernetes.

Children get deterministic names derived from the campaign's, so that creating them is idempotent
(a retry or an operator restart finds the object it made before) and so that ``kubectl get`` shows
what belongs to which campaign without a lookup table.
"""

from __future__ import annotations

from typing import Any

from ..campaign.api import API_VERSION, GROUP, KIND
from ..campaign.spec.k8s import MANIFEST_MOUNT_PATH

# KubeRay's RayJob, as the operator creates and watches it.
RAYJOB_GROUP = "ray.io"
RAYJOB_VERSION = "v1"
RAYJOB_API_VERSION = f"{RAYJOB_GROUP}/{RAYJOB_VERSION}"
RAYJOB_KIND = "RayJob"
RAYJOB_PLURAL = "rayjobs"

CAMPAIGN_LABEL = f"{GROUP}/campaign"
COMPONENT_LABEL = f"{GROUP}/component"
MANAGED_BY = ("app.kubernetes.io/managed-by", "hpo-operator")

# Where the driver finds the manifest inside the head pod (a mounted ConfigMap key).
MANIFEST_DIR = MANIFEST_MOUNT_PATH  # no storage path may collide with it (spec.Storage)
MANIFEST_KEY = "campaign.yaml"
PROGRESS_KEY = "status.json"
# The key of the Ray token in the campaign's Secret: KubeRay's (authOptions.secretName).
TOKEN_KEY = "auth_token"
DASHBOARD_PORT = 8265  # the Ray head's dashboard and job API, which KubeRay polls


def rayjob_name(campaign: str) -> str:
    """The RayJob of a campaign. Campaign names are at most 42 characters (spec.Metadata), so
    this name keeps within KubeRay's limit for RayJobs (47), which leaves room for the suffixes
    of the RayCluster and pods KubeRay names after it."""
    return f"{campaign}-tune"


def manifest_configmap_name(campaign: str) -> str:
    return f"{campaign}-manifest"


def progress_configmap_name(campaign: str) -> str:
    return f"{campaign}-progress"


def token_secret_name(campaign: str) -> str:
    """The Secret holding the campaign's Ray token."""
    return f"{campaign}-ray-token"


def network_policy_name(campaign: str) -> str:
    return f"{campaign}-ray"


def driver_account_name(campaign: str) -> str:
    """The campaign's own ServiceAccount, and the Role and RoleBinding that are all it may do."""
    return f"{campaign}-driver"


def children(campaign: str) -> list[tuple[str, str]]:
    """(kind, name) of every object the operator creates for a campaign, in creation order
    (:func:`..render.build_objects` builds them in this order): the one list that creating,
    reading and deleting children go by."""
    return [("ConfigMap", manifest_configmap_name(campaign)),
            ("ConfigMap", progress_configmap_name(campaign)),
            ("Secret", token_secret_name(campaign)),
            ("ServiceAccount", driver_account_name(campaign)),
            ("Role", driver_account_name(campaign)),
            ("RoleBinding", driver_account_name(campaign)),
            ("NetworkPolicy", network_policy_name(campaign)),
            (RAYJOB_KIND, rayjob_name(campaign))]


def labels(campaign: str, component: str) -> dict[str, str]:
    return {CAMPAIGN_LABEL: campaign, COMPONENT_LABEL: component, MANAGED_BY[0]: MANAGED_BY[1]}


def owner_reference(name: str, uid: str) -> dict[str, Any]:
    """Makes a child garbage-collected with its campaign. ``controller: true`` marks the campaign
    as the one object that manages the child, as ``kubectl describe`` shows it."""
    return {"apiVersion": API_VERSION, "kind": KIND, "name": name, "uid": uid,
            "controller": True, "blockOwnerDeletion": True}


def object_meta(name: str, namespace: str, campaign: str, component: str,
                owner_uid: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace,
                            "labels": labels(campaign, component)}
    if owner_uid:
        meta["ownerReferences"] = [owner_reference(campaign, owner_uid)]
    return meta
