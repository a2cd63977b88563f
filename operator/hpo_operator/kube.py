"""The only module that talks to the Kubernetes API (through the official client).

Everything returns or takes plain dicts, so the rest of the operator never sees client models, and
client exceptions become :class:`KubeError` here. Credentials are loaded here too, by
:func:`load_credentials`, for the client below and for whoever needs them loaded first. Creation is idempotent by contract: an object
that already exists is not an error (the caller learns whether it was created).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .campaign import api
from .kuberay import names

# (group, version, plural) of the custom resources, as the client takes them.
_CAMPAIGN = (api.GROUP, api.VERSION, api.PLURAL)
_RAYJOB = (names.RAYJOB_GROUP, names.RAYJOB_VERSION, names.RAYJOB_PLURAL)

_MERGE_PATCH = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"
_lock = threading.RLock()


class KubeError(Exception):
    """An API call failed; ``status`` is the HTTP status (0 when no response came)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class CredentialsError(KubeError):
    """Neither in-cluster credentials nor a kubeconfig load; the message says why, in one line."""


def load_credentials() -> str:
    """Load the client's credentials: in-cluster (a pod's service account), else the kubeconfig
    (``$KUBECONFIG`` or ``~/.kube/config``). Returns what loaded, e.g. ``kubeconfig PATH``;
    raises :class:`CredentialsError` saying why each failed when neither does."""
    with _lock:
        try:
            config.load_incluster_config()
            return "in-cluster credentials"
        except config.ConfigException as exc:
            in_cluster = f"not in a cluster: {str(exc).rstrip('.')}"
        kubeconfig = os.environ.get("KUBECONFIG") or config.KUBE_CONFIG_DEFAULT_LOCATION
        if not any(os.path.exists(os.path.expanduser(p)) for p in kubeconfig.split(os.pathsep)):
            raise CredentialsError(f"{in_cluster}; no kubeconfig at {kubeconfig}")
        try:
            # The client's own default is $KUBECONFIG as it was when the client was imported.
            config.load_kube_config(config_file=kubeconfig)
            return f"kubeconfig {kubeconfig}"
        except config.ConfigException as exc:
            problem = str(exc).rstrip(".")
        except yaml.YAMLError:
            problem = "not valid YAML"
        except OSError as exc:
            problem = exc.strerror or str(exc)
        raise CredentialsError(f"{in_cluster}; kubeconfig {kubeconfig}: {problem}")


@functools.cache
def _api() -> client.ApiClient:
    """One client per process, on the credentials :func:`load_credentials` finds."""
    with _lock:
        load_credentials()
        return client.ApiClient()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except ApiException as exc:
        raise KubeError(f"{what}: HTTP {exc.status} {exc.reason}", exc.status or 0) from exc


def _core() -> client.CoreV1Api:
    return client.CoreV1Api(_api())


def _custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi(_api())


# The namespaced core kinds a campaign owns, by kind: the client API and the suffix of its
# create_namespaced_X / read_namespaced_X / delete_namespaced_X methods.
_KINDS = {
    "ConfigMap": (client.CoreV1Api, "config_map"),
    "Secret": (client.CoreV1Api, "secret"),
    "ServiceAccount": (client.CoreV1Api, "service_account"),
    "Role": (client.RbacAuthorizationV1Api, "role"),
    "RoleBinding": (client.RbacAuthorizationV1Api, "role_binding"),
    "NetworkPolicy": (client.NetworkingV1Api, "network_policy"),
}


def _method(verb: str, kind: str) -> Any:
    if kind not in _KINDS:
        raise ValueError(f"no {verb} for kind {kind!r}")
    api_class, suffix = _KINDS[kind]
    return getattr(api_class(_api()), f"{verb}_namespaced_{suffix}")


def create_if_absent(obj: dict[str, Any]) -> bool:
    """Create ``obj`` (a RayJob or one of the core kinds above); False when it already existed."""
    meta = obj["metadata"]
    namespace = meta["namespace"]
    try:
        with _translated(f"create {obj['kind']} {namespace}/{meta['name']}"):
            if obj["kind"] == names.RAYJOB_KIND:
                _custom().create_namespaced_custom_object(*_RAYJOB[:2], namespace, _RAYJOB[2],
                                                          body=obj)
            else:
                _method("create", obj["kind"])(namespace, body=obj)
    except KubeError as exc:
        if exc.status == 409:
            return False
        raise
    return True


def get_metadata(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """``{"metadata": ...}`` of an object of a kind :func:`create_if_absent` creates, None when
    absent: enough to tell whose it is, and a Secret's data never leaves this module."""
    if kind == names.RAYJOB_KIND:
        found = get_rayjob(namespace, name)
        return None if found is None else {"metadata": found.get("metadata") or {}}
    try:
        with _translated(f"get {kind} {namespace}/{name}"):
            obj = _method("read", kind)(name, namespace)
    except KubeError as exc:
        if exc.status == 404:
            return None
        raise
    return {"metadata": _api().sanitize_for_serialization(obj.metadata) or {}}


def get_campaign(namespace: str, name: str) -> dict[str, Any] | None:
    return _get_custom(*_CAMPAIGN, namespace, name)


def get_rayjob(namespace: str, name: str) -> dict[str, Any] | None:
    return _get_custom(*_RAYJOB, namespace, name)


def _get_custom(group: str, version: str, plural: str, namespace: str,
                name: str) -> dict[str, Any] | None:
    try:
        with _translated(f"get {plural} {namespace}/{name}"):
            return dict(_custom().get_namespaced_custom_object(group, version, namespace, plural,
                                                               name))
    except KubeError as exc:
        if exc.status == 404:
            return None
        raise


def get_configmap(namespace: str, name: str) -> dict[str, Any] | None:
    """The whole ConfigMap (metadata included, to tell whose it is), or None when absent."""
    try:
        with _translated(f"get ConfigMap {namespace}/{name}"):
            found = _core().read_namespaced_config_map(name, namespace)
    except KubeError as exc:
        if exc.status == 404:
            return None
        raise
    return dict(_api().sanitize_for_serialization(found))


def delete_configmap(namespace: str, name: str) -> None:
    with _translated(f"delete ConfigMap {namespace}/{name}"):
        _core().delete_namespaced_config_map(name, namespace)


def patch_configmap_data(namespace: str, name: str, data: dict[str, str],
                         owner_uid: str | None = None) -> None:
    """Set ``data`` keys on an existing ConfigMap. Never creates it: the operator creates it with
    the campaign as owner, and one created here would outlive the campaign (HTTP 404 instead).

    With ``owner_uid``, ``data`` replaces the ConfigMap's data in one JSON patch that first tests
    the owner's uid (HTTP 422 when another object owns it): a driver outliving its campaign never
    writes into the ConfigMap of a new campaign of the same name.
    """
    body: Any = {"data": data}
    content_type = _MERGE_PATCH
    if owner_uid is not None:
        body = [{"op": "test", "path": "/metadata/ownerReferences/0/uid", "value": owner_uid},
                {"op": "add", "path": "/data", "value": data}]
        content_type = _JSON_PATCH
    with _translated(f"patch ConfigMap {namespace}/{name}"):
        _core().patch_namespaced_config_map(name, namespace, body=body,
                                            _content_type=content_type)


def patch_campaign_status(namespace: str, name: str, status: dict[str, Any]) -> None:
    """The one writer of campaign status (a merge patch of the status subresource)."""
    with _translated(f"patch status of HPOCampaign {namespace}/{name}"):
        _custom().patch_namespaced_custom_object_status(
            api.GROUP, api.VERSION, namespace, api.PLURAL, name, body={"status": status},
            _content_type=_MERGE_PATCH)


def delete_children(namespace: str, campaign: str, owner_uid: str | None) -> list[str]:
    """Delete the campaign's children that the campaign with ``owner_uid`` owns; returns what was
    deleted. Owner references do this on a real cluster; doing it explicitly also covers clusters
    (and emulators) without garbage collection.

    An object that merely has a child's name (created by someone else, owned by nothing or by
    another campaign) is left alone, and so is everything when the uid is unknown. Each delete is
    conditional on the uid of the object that was read, so that one replaced in between survives.
    """
    deleted = []
    for kind, name in reversed(names.children(campaign)) if owner_uid else ():
        found = get_metadata(kind, namespace, name)
        meta = (found or {}).get("metadata") or {}
        if not any(ref.get("uid") == owner_uid for ref in meta.get("ownerReferences") or []):
            continue
        options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=meta.get("uid")))
        try:
            with _translated(f"delete {kind} {namespace}/{name}"):
                if kind == names.RAYJOB_KIND:
                    _custom().delete_namespaced_custom_object(*_RAYJOB[:2], namespace, _RAYJOB[2],
                                                              name, body=options)
                else:
                    _method("delete", kind)(name, namespace, body=options)
            deleted.append(f"{kind}/{name}")
        except KubeError as exc:
            if exc.status not in (404, 409):  # gone, or replaced since it was read
                raise
    return deleted
