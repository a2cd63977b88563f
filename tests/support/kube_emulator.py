"""A Kubernetes API *emulator* for the tests: kmock 0.8 served over real HTTP, with the fixes that
kubectl and kopf need (see ../shared/research/real-components.md, section 3).

It is not a Kubernetes API server: no admission, no schema validation, no garbage collection of
owned objects, no controllers, no label selectors (clients filter), no server-side apply. It stores
objects, serves list/get/create/patch/delete/watch, honours finalizers and the status subresource,
and registers a custom resource (its storage version) when its CRD is created, which is what the
operator's tests need. A failed JSON-patch precondition answers 422, as on a real server.

Run: ``python tests/support/kube_emulator.py PORT [HOST]`` (HOST: 127.0.0.1, or this machine's
address on a container network); it prints one line when it listens, and stops on SIGTERM or
SIGINT.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import itertools
import json
import signal
import sys
import uuid
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
from kmock._internal import parsing

VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}
REASONS = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 409: "AlreadyExists",
           422: "Invalid", 500: "InternalError"}
_resource_versions = itertools.count(1)
_original_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock takes ``/api/v1/namespaces[/NAME]`` for the ``/namespaces/{ns}/`` prefix (HTTP 500)."""
    parts = path.strip("/").split("/")
    core = parts[:1] == ["api"] and len(parts) >= 3 and parts[2] == "namespaces"
    grouped = parts[:1] == ["apis"] and len(parts) >= 4 and parts[3] == "namespaces"
    tail = parts[3:] if core else parts[4:] if grouped else None
    if tail is not None and len(tail) <= 1:
        group, version = ("", parts[1]) if core else (parts[1], parts[2])
        return parsing.ParsedPath(group, version, "namespaces", None, tail[0] if tail else None, None)
    return _original_parse_path(path)


parsing.parse_path = _parse_path


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Emulator(kmock.KubernetesEmulator):
    def __attrs_post_init__(self) -> None:
        # Watch streams as JSON (kmock says octet-stream, which kubectl -w refuses).
        self.fallback[kmock.action.WATCH] << {"Content-Type": "application/json"} << self._serve_watch
        super().__attrs_post_init__()

    async def _serve_version(self, request: Any) -> Any:
        payload = await super()._serve_version(request)
        if isinstance(payload, dict):  # "/v1" makes kubectl lose every core resource
            payload["groupVersion"] = payload["groupVersion"].lstrip("/")
        return payload

    async def _render_error(self, exc: Any) -> Any:
        if isinstance(exc, jsonpatch.JsonPatchException):
            # A failed JSON-patch ``test`` (kopf's resourceVersion precondition) is 422 Invalid
            # on a real server; kopf then re-reads the object, while a 500 makes it retry blindly.
            return aiohttp.web.json_response({
                "apiVersion": "v1", "kind": "Status", "metadata": {}, "code": 422,
                "status": "Failure", "reason": "Invalid", "message": str(exc)}, status=422)
        response = await super()._render_error(exc)
        if getattr(response, "text", None):  # Kubernetes reason constants, not kmock's prose
            body = json.loads(response.text)
            body["reason"] = REASONS.get(body.get("code"), body.get("reason"))
            body.get("details", {}).pop("traceback", None)
            response.text = json.dumps(body)
        return response

    def register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec", {})
        crd_names = spec.get("names", {})
        # Only the storage version: a real server converts between versions, this one cannot (and
        # kmock's preferredVersion is an arbitrary one of the set, so kubectl would pick at random).
        versions = spec.get("versions", [])
        for version in [v for v in versions if v.get("storage")] or versions[:1]:
            self.resources[f"{spec['group']}/{version['name']}/{crd_names['plural']}"] = kmock.ResourceInfo(
                kind=crd_names.get("kind"), singular=crd_names.get("singular") or crd_names["plural"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced", verbs=VERBS,
                shortnames=set(crd_names.get("shortNames", [])),
                categories=set(crd_names.get("categories", [])),
                subresources={"status"} if "status" in (version.get("subresources") or {}) else set())

    async def _serve_list(self, request: Any) -> Any:
        payload = await super()._serve_list(request)
        resource = request.resource
        info = self.resources[resource] if resource in self.resources else None
        kind = (info.kind if info and info.kind else resource.plural.capitalize()) + "List"
        return {"apiVersion": f"{resource.group}/{resource.version}".lstrip("/"), "kind": kind,
                "metadata": {"resourceVersion": str(next(_resource_versions))},
                "items": payload["items"]}

    async def _handle(self, request: Any) -> Any:
        if request.resource is not None and request.data is not None:
            self._stamp(request)
        return await super()._handle(request)

    def _stamp(self, request: Any) -> None:
        """Object metadata a real server keeps (kopf's patches test resourceVersion), and the
        status subresource: status changes only through /status, spec only through the object."""
        resource, version = request.resource, str(next(_resource_versions))
        info = self.resources[resource] if resource in self.resources else None
        has_status = bool(info and "status" in info.subresources)
        data = request.data
        if request.action == kmock.action.CREATE and isinstance(data, dict):
            meta = data.setdefault("metadata", {})
            if request.namespace:
                meta.setdefault("namespace", request.namespace)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            meta.update(uid=str(uuid.uuid4()), resourceVersion=version, generation=1,
                        creationTimestamp=_now())
            if has_status:
                data.pop("status", None)
            if (resource.group, resource.plural) == ("", "secrets") and "stringData" in data:
                encoded = {k: base64.b64encode(str(v).encode()).decode()
                           for k, v in data.pop("stringData").items()}
                data["data"] = {**(data.get("data") or {}), **encoded}  # as a server stores it
            if (resource.group, resource.plural) == ("apiextensions.k8s.io", "customresourcedefinitions"):
                self.register_crd(data)
        elif request.action == kmock.action.UPDATE and request.name:
            key = (resource, request.namespace, request.name)
            current = self.objects[key] if key in self.objects and not self.objects[key].deleted else None
            generation = int(((current or {}).get("metadata") or {}).get("generation") or 1)
            sub = request.subresource
            if isinstance(data, dict):  # merge patch
                if has_status and sub == "status":
                    for k in [k for k in data if k not in ("status", "metadata")]:
                        data.pop(k)
                elif has_status:
                    data.pop("status", None)
                data["metadata"] = data.get("metadata") or {}
                data["metadata"]["resourceVersion"] = version
                if "spec" in data and sub is None:
                    data["metadata"]["generation"] = generation + 1
            elif isinstance(data, list):  # JSON patch
                if has_status and sub == "status":
                    data[:] = [o for o in data if o.get("op") == "test"
                               or o.get("path", "").startswith(("/status", "/metadata"))]
                elif has_status:
                    data[:] = [o for o in data if not o.get("path", "").startswith("/status")]
                data.append({"op": "add", "path": "/metadata/resourceVersion", "value": version})
                if sub is None and any(o.get("path", "").startswith("/spec") for o in data):
                    data.append({"op": "add", "path": "/metadata/generation", "value": generation + 1})


def _declare_builtins(k8s: Emulator) -> None:
    """Core resources the operator, the driver and kubectl touch (kmock knows none by itself)."""
    for path, kind, namespaced, short in [
            ("v1/namespaces", "Namespace", False, set()), ("v1/events", "Event", True, {"ev"}),
            ("v1/configmaps", "ConfigMap", True, {"cm"}), ("v1/secrets", "Secret", True, set()),
            ("v1/serviceaccounts", "ServiceAccount", True, {"sa"}),
            ("rbac.authorization.k8s.io/v1/roles", "Role", True, set()),
            ("rbac.authorization.k8s.io/v1/rolebindings", "RoleBinding", True, set()),
            ("networking.k8s.io/v1/networkpolicies", "NetworkPolicy", True, {"netpol"}),
            ("events.k8s.io/v1/events", "Event", True, {"ev"})]:
        k8s.resources[path] = kmock.ResourceInfo(kind=kind, singular=kind.lower(),
                                                 namespaced=namespaced, verbs=VERBS, shortnames=short)
    k8s.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo(
        kind="CustomResourceDefinition", singular="customresourcedefinition", namespaced=False,
        verbs=VERBS, shortnames={"crd", "crds"})
    k8s.objects["v1/namespaces", None, "default"] = {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}


async def serve(port: int, host: str = "127.0.0.1") -> None:
    async with Emulator() as k8s, kmock.Server(k8s, host=host, port=port) as server:
        _declare_builtins(k8s)
        print(f"kube emulator listening on {server.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), *sys.argv[2:3]))
