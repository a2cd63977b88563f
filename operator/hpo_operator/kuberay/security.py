"""What keeps one campaign from reaching another, or the operator's rights: pure builders.

- Ray token authentication: every Ray process of the campaign (head, workers, KubeRay's submitter)
  gets ``RAY_AUTH_MODE=token`` and the campaign's token from a Secret of its own, which the
  operator fills with a random token at provisioning (never in the RayJob). Without the token, the
  head's GCS and dashboard refuse clients: no job submission, no ``ray.init``.
- A NetworkPolicy: the campaign's Ray pods accept connections only from the campaign's own pods,
  and the dashboard port also from the KubeRay operator (it polls the job's status there).
- Each campaign's driver (``hpo run`` in the Ray head pod) runs as a ServiceAccount of its own,
  whose Role allows exactly what the driver does on the API: read and patch the campaign's
  progress ConfigMap, by name. Worker pods, which run only trials, mount no token at all.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..campaign.spec import Campaign
from . import names
from .defaults import ClusterDefaults

TOKEN_PLACEHOLDER = "PLACEHOLDER-random-token-made-at-provisioning"
"""What ``hpo render`` shows instead of a token: the operator generates one per campaign."""

RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
DRIVER_VERBS = ("get", "patch")
"""The driver's verbs on its progress ConfigMap. The operator's own Role must hold them too (see
the chart's rbac rules): Kubernetes lets no one create a Role granting more than they hold."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def auth_env(campaign: Campaign) -> list[dict[str, Any]]:
    """The environment by which Ray requires and presents the campaign's token (Ray reads
    RAY_AUTH_TOKEN before any token file)."""
    return [{"name": "RAY_AUTH_MODE", "value": "token"},
            {"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {
                "name": names.token_secret_name(campaign.metadata.name), "key": names.TOKEN_KEY}}}]


def auth_options(campaign: Campaign) -> dict[str, Any]:
    """The RayCluster's ``authOptions``: KubeRay presents the token from our Secret when it calls
    the dashboard, and sets the same environment on any Ray container that lacks it."""
    return {"mode": "token", "secretName": names.token_secret_name(campaign.metadata.name)}


def build_token_secret(campaign: Campaign, token: str,
                       owner_uid: str | None = None) -> dict[str, Any]:
    """Immutable: the running cluster keeps the token it started with."""
    meta = campaign.metadata
    return {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": names.object_meta(names.token_secret_name(meta.name), meta.namespace,
                                      meta.name, "ray-token", owner_uid),
        "type": "Opaque", "immutable": True, "stringData": {names.TOKEN_KEY: token},
    }


def build_network_policy(campaign: Campaign, defaults: ClusterDefaults,
                         owner_uid: str | None = None) -> dict[str, Any]:
    """Ingress to the campaign's pods (head, workers: any Ray port) from its own pods only, and to
    the dashboard port from the KubeRay operator's pods. Egress is left alone: trials may fetch
    data. It needs a network plugin that enforces NetworkPolicies; the token holds without one."""
    meta = campaign.metadata

    def own() -> dict[str, Any]:
        return {"matchLabels": {names.CAMPAIGN_LABEL: meta.name}}

    kuberay: dict[str, Any] = {"podSelector": {"matchLabels": dict(
        item.split("=", 1) for item in defaults.kuberay_pod_labels)}}
    kuberay["namespaceSelector"] = ({"matchLabels": {
        "kubernetes.io/metadata.name": defaults.kuberay_namespace}}
        if defaults.kuberay_namespace else {})
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": names.object_meta(names.network_policy_name(meta.name), meta.namespace,
                                      meta.name, "network-policy", owner_uid),
        "spec": {"podSelector": own(), "policyTypes": ["Ingress"], "ingress": [
            {"from": [{"podSelector": own()}]},
            {"from": [kuberay], "ports": [{"protocol": "TCP", "port": names.DASHBOARD_PORT}]}]},
    }


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
