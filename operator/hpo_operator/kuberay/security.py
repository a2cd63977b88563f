"""What keeps one campaign from reaching another, or the operator's rights: pure builders.

Each campaign's driver (``hpo run`` in the Ray head pod) runs as a ServiceAccount of its own, whose
Role allows exactly what the driver does on the API: read and patch the campaign's progress
ConfigMap, by name. The worker pods, which run only trials, mount no service-account token at all.
"""

from __future__ import annotations

from typing import Any

from ..campaign.spec import Campaign
from . import names

RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
DRIVER_VERBS = ("get", "patch")
"""The driver's verbs on its progress ConfigMap. The operator's own Role must hold them too (see
the chart's rbac rules): Kubernetes lets no one create a Role granting more than they hold."""


def build_driver_account(campaign: Campaign, owner_uid: str | None = None) -> dict[str, Any]:
    """The head pod's account. Its token is mounted only where the pod asks for it (the head)."""
    meta = campaign.metadata
    return {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": names.object_meta(names.driver_account_name(meta.name), meta.namespace,
                                      meta.name, "driver", owner_uid),
        "automountServiceAccountToken": False,
    }


def build_driver_role(campaign: Campaign, owner_uid: str | None = None) -> dict[str, Any]:
    """get and patch on the campaign's progress ConfigMap, and nothing else. No ``create``: the
    operator creates that ConfigMap owned by the campaign, so nothing the driver does outlives it."""
    meta = campaign.metadata
    return {
        "apiVersion": RBAC_API_VERSION, "kind": "Role",
        "metadata": names.object_meta(names.driver_account_name(meta.name), meta.namespace,
                                      meta.name, "driver", owner_uid),
        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                   "resourceNames": [names.progress_configmap_name(meta.name)],
                   "verbs": list(DRIVER_VERBS)}],
    }


def build_driver_binding(campaign: Campaign, owner_uid: str | None = None) -> dict[str, Any]:
    meta = campaign.metadata
    account = names.driver_account_name(meta.name)
    return {
        "apiVersion": RBAC_API_VERSION, "kind": "RoleBinding",
        "metadata": names.object_meta(account, meta.namespace, meta.name, "driver", owner_uid),
        "roleRef": {"apiGroup": RBAC_API_VERSION.split("/")[0], "kind": "Role", "name": account},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": meta.namespace}],
    }


def driver_objects(campaign: Campaign, owner_uid: str | None = None) -> list[dict[str, Any]]:
    """The driver's account, its Role and the binding of the two, in creation order."""
    return [build_driver_account(campaign, owner_uid), build_driver_role(campaign, owner_uid),
            build_driver_binding(campaign, owner_uid)]
