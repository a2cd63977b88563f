"""A *stand-in* for the KubeRay controller, for the end-to-end tests on the Kubernetes emulator.

It watches RayJobs (by polling the emulator's API) and does for each what KubeRay does, minus the
pods: it reads the manifest ConfigMap the head pod would mount, runs the RayJob's real entrypoint
as a local subprocess (its own Ray on this machine, with ``--address auto`` dropped, the mount and
storage paths mapped to local directories, the head container's environment resolved as the
kubelet does, Secret keys included, so the driver's Ray requires and presents the campaign's token,
and the runtime env's variables set), retries it up to
``backoffLimit`` times, and writes ``status.jobDeploymentStatus``/``jobStatus`` as KubeRay would.
Storage outlives a driver attempt, as a PersistentVolumeClaim does. Deleting the RayJob kills its
driver, as deleting the owned RayCluster would.

Given ``pods`` (a :class:`tests.support.kuberay_pods.ContainerPods`), it runs each attempt in
containers instead: a new RayCluster of head and worker containers built from the RayJob's pod
templates, the entrypoint run unchanged in the head container (see kuberay_pods).
"""

from __future__ import annotations

import base64
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import yaml

if TYPE_CHECKING:
    from tests.support.cluster import EmulatedCluster
    from tests.support.kuberay_pods import ContainerPods

RAYJOBS = "/apis/ray.io/v1/rayjobs"


@contextmanager
def serving(cluster: EmulatedCluster, pods: ContainerPods | None = None) -> Iterator[KubeRayStandIn]:
    """The stand-in running RayJobs of ``cluster`` until the block ends; its drivers import this
    checkout's code and the toy trainables (``PYTHONPATH``) as the tests do."""
    workdir = cluster.workdir / "kuberay"
    workdir.mkdir()
    runner = KubeRayStandIn(cluster.server, cluster.kubeconfig, workdir,
                            os.environ["PYTHONPATH"], pods).start()
    try:
        yield runner
    finally:
        runner.stop()


class KubeRayStandIn:
    def __init__(self, server: str, kubeconfig: Path, workdir: Path, pythonpath: str,
                 pods: ContainerPods | None = None) -> None:
        self.server, self.kubeconfig, self.workdir = server, kubeconfig, workdir
        self.pythonpath, self.pods = pythonpath, pods
        self.drivers: dict[str, subprocess.Popen[bytes]] = {}
        self.driver_uids: dict[str, str] = {}  # which RayJob object (by uid) a driver belongs to
        self.attempts: dict[str, int] = {}
        self.pod_env: dict[str, dict[str, str]] = {}  # the head container's env, as resolved
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kuberay-standin", daemon=True)

    def start(self) -> KubeRayStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for key in list(self.drivers) + list(self.pods.clusters if self.pods else []):
            self.kill_driver(key)

    def kill_driver(self, key: str) -> None:
        """SIGKILL the driver's whole process group (driver + its local Ray), like a lost pod;
        in containers, remove the RayCluster's containers."""
        if self.pods is not None:
            self.pods.delete(key)
            return
        proc = self.drivers.get(key)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    # -- the controller loop -----------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                items = requests.get(self.server + RAYJOBS, timeout=5).json().get("items", [])
            except (requests.RequestException, ValueError):
                continue
            present = {}
            for job in items:
                key = f"{job['metadata']['namespace']}/{job['metadata']['name']}"
                uid = job["metadata"]["uid"]
                present[key] = uid
                if uid not in self._seen and not (job.get("status") or {}).get("jobDeploymentStatus"):
                    self._seen.add(uid)
                    threading.Thread(target=self._run, args=(job, key), daemon=True).start()
            for key, uid in list(self.driver_uids.items()):
                if present.get(key) != uid:  # RayJob deleted (or replaced): its cluster goes away
                    self.kill_driver(key)

    def _run(self, job: dict[str, Any], key: str) -> None:
        spec, uid = job["spec"], job["metadata"]["uid"]
        self._patch(key, {"jobDeploymentStatus": "Initializing", "jobStatus": ""})
        retries = int(spec.get("backoffLimit", 0))
        for attempt in range(retries + 1):
            self.attempts[key] = attempt + 1
            self._patch(key, {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING",
                              "failed": attempt, "startTime": _now()})
            self.driver_uids[key] = uid
            code = self._attempt(job, key, attempt)
            if code == 0:
                self._patch(key, {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED",
                                  "succeeded": 1, "endTime": _now()})
                return
            if self._stop.is_set() or not self._exists(key, uid):
                return
            if attempt < retries:
                self._patch(key, {"jobDeploymentStatus": "Retrying", "jobStatus": "FAILED",
                                  "failed": attempt + 1})
        self._patch(key, {"jobDeploymentStatus": "Failed", "jobStatus": "FAILED",
                          "reason": "AppFailed", "endTime": _now(),
                          "message": f"driver exited with code {code} after {retries + 1} attempts"})

    def driver_log(self, key: str, attempt: int) -> Path:
        return self.workdir / f"{key.replace('/', '_')}.driver-{attempt}.log"

    def _attempt(self, job: dict[str, Any], key: str, attempt: int) -> int:
        """One driver run, to its exit code: on a new RayCluster of containers, or locally."""
        if self.pods is not None:
            return self.pods.run_attempt(job, key, self.driver_log(key, attempt),
                                         self._container_env)
        command, env = self._command(job, key)
        with open(self.driver_log(key, attempt), "wb") as log:
            proc = subprocess.Popen(command, env=env, cwd=self.workdir, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.drivers[key] = proc
            return proc.wait()

    def _command(self, job: dict[str, Any], key: str) -> tuple[list[str], dict[str, str]]:
        """The entrypoint with this machine's paths, and the environment the driver would get."""
        namespace = job["metadata"]["namespace"]
        head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
        local = self.workdir / key.replace("/", "_")
        mounts = {m["name"]: m["mountPath"] for m in head["containers"][0].get("volumeMounts", [])}
        replacements = {}
        for volume in head.get("volumes", []):
            if "configMap" in volume and volume["name"] in mounts:  # materialise the mount
                target = local / "mounts" / volume["name"]
                target.mkdir(parents=True, exist_ok=True)
                cm = _api("get", f"{self.server}/api/v1/namespaces/{namespace}/configmaps/"
                               f"{volume['configMap']['name']}").json()
                for file, text in (cm.get("data") or {}).items():
                    (target / file).write_text(text)
                replacements[mounts[volume["name"]]] = str(target)
        argv = shlex.split(job["spec"]["entrypoint"])
        argv[0] = str(Path(sys.executable).with_name(argv[0]))
        out: list[str] = []
        args = iter(argv)
        for arg in args:
            if arg == "--address":
                next(args)  # the driver starts its own local Ray here
            elif arg == "--storage":
                out += [arg, str(local / "storage")]
                next(args)
            else:
                for remote, here in replacements.items():
                    arg = arg.replace(remote, here) if arg.startswith(remote) else arg
                out.append(arg)
        runtime_env = yaml.safe_load(job["spec"].get("runtimeEnvYAML") or "{}") or {}
        self.pod_env[key] = self._container_env(namespace, head["containers"][0])
        env = {**os.environ, **self.pod_env[key],
               **{k: str(v) for k, v in runtime_env.get("env_vars", {}).items()},
               "KUBECONFIG": str(self.kubeconfig), "PYTHONPATH": self.pythonpath,
               "RAY_USAGE_STATS_ENABLED": "0"}
        return out, env

    def _container_env(self, namespace: str, container: dict[str, Any]) -> dict[str, str]:
        """A container's ``env`` as the kubelet resolves it: plain values and Secret keys."""
        env = {}
        for var in container.get("env", []):
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref is None:
                env[var["name"]] = str(var.get("value", ""))
                continue
            secret = _api("get", f"{self.server}/api/v1/namespaces/{namespace}/secrets/"
                               f"{ref['name']}").json()
            env[var["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        return env

    def _exists(self, key: str, uid: str) -> bool:
        namespace, name = key.split("/")
        url = f"{self.server}/apis/ray.io/v1/namespaces/{namespace}/rayjobs/{name}"
        reply = _api("get", url)
        return reply.status_code == 200 and reply.json()["metadata"].get("uid") == uid

    def _patch(self, key: str, status: dict[str, Any]) -> None:
        namespace, name = key.split("/")
        _api("patch", f"{self.server}/apis/ray.io/v1/namespaces/{namespace}/rayjobs/{name}/status",
             json={"status": status}, headers={"Content-Type": "application/merge-patch+json"})


def _api(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One API call, retried while the emulator is too busy to answer (as KubeRay's controller
    retries a reconcile): a loaded test machine must not lose a RayJob's driver to one timeout."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return requests.request(method, url, timeout=15, **kwargs)
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
