"""The container mode of the KubeRay stand-in: a RayJob's RayCluster as podman containers, built
from the RayJob's own pod templates the way KubeRay builds its pods.

For each attempt (KubeRay makes a new RayCluster for each retry) it starts the head container,
waits until Ray runs in it (KubeRay's readiness probe), starts each worker container, then runs
the entrypoint in the head container (``podman exec``, where KubeRay's submitter would submit it
to the head) and removes the cluster when the driver ends. From the templates it takes:

* the image; ``ray start --head`` or ``ray start --address=<head service>:6379`` with the group's
  ``rayStartParams``, and ``--num-cpus``/``--memory``/``--num-gpus`` from the container's limits
  where the parameters leave them out, as KubeRay does (its ``ulimit -n 65536`` is left out:
  raising a limit needs CAP_SYS_RESOURCE, which a container does not have here);
* env; cpu and memory limits (``--cpus``, ``--memory``); the pod's ``restartPolicy`` (Always by
  default: a worker whose ``ray start`` times out on a loaded machine starts again, as the kubelet
  would restart it);
* volumes: a ConfigMap's data as read-only files at its ``mountPath``; a PersistentVolumeClaim as a
  host directory that outlives every container; an emptyDir as a directory of the pod's own;
* the security context: ``runAsUser``/``runAsGroup`` as ``--user``, ``capabilities.drop`` as
  ``--cap-drop``, ``allowPrivilegeEscalation: false`` as ``no-new-privileges``,
  ``readOnlyRootFilesystem`` as ``--read-only``; the ``RuntimeDefault`` seccomp profile is
  podman's default.

A pod with a service account gets the tests' kubeconfig mounted (``$KUBECONFIG``), standing in
for the account's token: the driver reaches the emulator's API at this machine's address on the
test network. The head container also answers to the head service's name (a network alias).
"""

from __future__ import annotations

import math
import re
import shlex
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support.containers import EngineError, Network, Podman
from tests.support.poll import wait_until

KUBECONFIG_PATH = "/var/run/hpo-tests/kubeconfig"
EnvResolver = Callable[[str, dict[str, Any]], dict[str, str]]
GCS_PORT = 6379
_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
                 "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "": 1}


def cpus(quantity: str) -> str:
    text = str(quantity)
    return f"{int(text[:-1]) / 1000:g}" if text.endswith("m") else f"{float(text):g}"


def memory_bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()  # type: ignore[union-attr]
    return int(float(number) * _MEMORY_UNITS[unit])


class ContainerPods:
    """What the stand-in needs to run RayJobs as containers; one :class:`RayClusterPods` each."""

    def __init__(self, podman: Podman, network: Network, server: str, kubeconfig: Path,
                 workdir: Path) -> None:
        self.podman, self.network, self.server = podman, network, server
        self.kubeconfig, self.workdir = kubeconfig, workdir
        self.storage = workdir / "volumes"  # PersistentVolumeClaims: <namespace>/<claim>
        self.clusters: dict[str, RayClusterPods] = {}
        self.every_container: list[dict[str, Any]] = []  # what each container was started as
        self._lock = threading.Lock()

    def run_attempt(self, job: dict[str, Any], key: str, log: Path, resolve_env: EnvResolver) -> int:
        """One driver attempt on a new cluster: its exit code (1 when the cluster never ran).
        ``resolve_env(namespace, container)`` is a container's env as the kubelet resolves it
        (Secret keys included: the campaign's Ray token)."""
        cluster = RayClusterPods(self, job, resolve_env)
        with self._lock:
            self.clusters[key] = cluster
        try:
            cluster.start()
            return cluster.submit(log)
        except (EngineError, TimeoutError) as exc:
            log.write_text(f"the RayCluster did not start: {exc}\n")
            return 1
        finally:
            cluster.delete()

    def kill_head(self, key: str) -> None:
        """SIGKILL the head container, like a lost head pod (podman does not restart a killed
        container); the driver in it dies, and the stand-in retries on a new cluster."""
        self.podman("kill", "--signal", "KILL", self.clusters[key].head, check=False)

    def delete(self, key: str) -> None:
        cluster = self.clusters.get(key)
        if cluster is not None:
            cluster.delete()


class RayClusterPods:
    def __init__(self, pods: ContainerPods, job: dict[str, Any], resolve_env: EnvResolver) -> None:
        self.pods, self.job, self.resolve_env = pods, job, resolve_env
        self.namespace = job["metadata"]["namespace"]
        self.name = f"{job['metadata']['name']}-{uuid.uuid4().hex[:5]}"  # KubeRay's RayCluster
        self.service = f"{self.name}-head-svc"
        self.head = ""
        self.containers: dict[str, str] = {}  # pod name -> container id
        self.deleted = False
        self._lock = threading.Lock()

    def start(self) -> None:
        spec = self.job["spec"]["rayClusterSpec"]
        head = spec["headGroupSpec"]
        self.head = self._start_pod(f"{self.name}-head", head, ["--head", f"--port={GCS_PORT}"],
                                    ["--network-alias", self.service])
        podman = self.pods.podman
        # KubeRay's readiness probe asks the raylet and the GCS; `ray start` writes this file
        # once both run, and the driver's `--address auto` reads it.
        try:
            wait_until(lambda: podman.succeeds("exec", self.head, "test", "-e",
                                               "/tmp/ray/ray_current_cluster"),
                       300, interval=1.0, message="Ray to run in the head container")
        except TimeoutError as exc:
            log = podman.save_logs(self.head, f"{self.name}-head").read_text()
            raise EngineError(f"{exc}; the head container's output ends:\n{log[-3000:]}") from None
        for group in spec.get("workerGroupSpecs", []):
            for index in range(int(group.get("replicas", 1))):
                self._start_pod(f"{self.name}-{group['groupName']}-worker-{index}", group,
                                [f"--address={self.service}:{GCS_PORT}"], [])

    def submit(self, log: Path) -> int:
        """The entrypoint in the head container, with the runtime env's variables."""
        runtime_env = yaml.safe_load(self.job["spec"].get("runtimeEnvYAML") or "{}") or {}
        env = [f"--env={k}={v}" for k, v in (runtime_env.get("env_vars") or {}).items()]
        proc = self.pods.podman.popen("exec", *env, self.head, "bash", "-lc",
                                      self.job["spec"]["entrypoint"], log=log)
        return proc.wait()

    def delete(self) -> None:
        """KubeRay deletes the RayCluster when its job ends; logs are kept, by pod name."""
        with self._lock:
            self.deleted = True
            for pod, cid in list(self.containers.items()):
                self.pods.podman.remove(cid, pod)
                del self.containers[pod]

    # -- one pod --------------------------------------------------------------------------------
    def _start_pod(self, pod: str, group: dict[str, Any], start_args: list[str],
                   extra: list[str]) -> str:
        template = group["template"]["spec"]
        container = template["containers"][0]
        restart = {"Always": "always", "OnFailure": "on-failure"}.get(
            template.get("restartPolicy", "Always"), "no")
        args = ["--name", pod, "--hostname", pod, "--network", self.pods.network.name, *extra,
                f"--restart={restart}",
                *_security(template, container), *_limits(container),
                *self._env(template, container), *self._volumes(pod, template, container),
                "--entrypoint", "/bin/bash", container["image"], "-lc",
                shlex.join(["ray", "start", *start_args, "--block",
                            *_start_params(group.get("rayStartParams") or {}, container)])]
        with self._lock:
            if self.deleted:
                raise EngineError(f"RayCluster {self.name} was deleted while it started")
            cid = self.pods.podman.run(*args)
            self.containers[pod] = cid
        self.pods.every_container.append({"pod": pod, "id": cid, "args": args,
                                          "cluster": self.name})
        return cid

    def _env(self, template: dict[str, Any], container: dict[str, Any]) -> list[str]:
        env = {"RAY_CLUSTER_NAME": self.name, "RAY_USAGE_STATS_ENABLED": "0",
               **self.resolve_env(self.namespace, container)}
        args = [f"--env={k}={v}" for k, v in env.items()]
        if template.get("serviceAccountName") and template.get("automountServiceAccountToken",
                                                               True):
            args += [f"--env=KUBECONFIG={KUBECONFIG_PATH}",
                     "-v", f"{self.pods.kubeconfig}:{KUBECONFIG_PATH}:ro"]
        return args

    def _volumes(self, pod: str, template: dict[str, Any], container: dict[str, Any]) -> list[str]:
        volumes = {v["name"]: v for v in template.get("volumes", [])}
        args: list[str] = []
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                host = self._configmap_files(pod, volume)
            elif "persistentVolumeClaim" in volume:
                host = self.pods.storage / self.namespace / volume["persistentVolumeClaim"]["claimName"]
            else:  # emptyDir: the pod's own, gone with the cluster
                host = self.pods.workdir / "pods" / pod / volume["name"]
            host.mkdir(parents=True, exist_ok=True)
            if "configMap" not in volume:
                host.chmod(0o777)  # any runAsUser may write, as on a volume with fsGroup
            suffix = ":ro" if mount.get("readOnly") or "configMap" in volume else ""
            args += ["-v", f"{host}:{mount['mountPath']}{suffix}"]
        return args

    def _configmap_files(self, pod: str, volume: dict[str, Any]) -> Path:
        name = volume["configMap"]["name"]
        reply = requests.get(f"{self.pods.server}/api/v1/namespaces/{self.namespace}/configmaps/"
                             f"{name}", timeout=10)
        if reply.status_code != 200:
            raise EngineError(f"ConfigMap {self.namespace}/{name} for pod {pod}: "
                              f"HTTP {reply.status_code} {reply.text[:200]}")
        target = self.pods.workdir / "pods" / pod / volume["name"]
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        for file, text in (reply.json().get("data") or {}).items():
            (target / file).write_text(text)
            (target / file).chmod(0o644)
        return target


def _security(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    context = {**(pod.get("securityContext") or {}), **(container.get("securityContext") or {})}
    args: list[str] = []
    if "runAsUser" in context:
        group = context.get("runAsGroup")
        args += ["--user", f"{context['runAsUser']}" + (f":{group}" if group is not None else "")]
    for capability in (context.get("capabilities") or {}).get("drop", []):
        args.append(f"--cap-drop={capability}")
    for capability in (context.get("capabilities") or {}).get("add", []):
        args.append(f"--cap-add={capability}")
    if context.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    if context.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
        args.append("--security-opt=seccomp=unconfined")
    return args


def _limits(container: dict[str, Any]) -> list[str]:
    limits = (container.get("resources") or {}).get("limits") or {}
    args = []
    if "cpu" in limits:
        args += ["--cpus", cpus(limits["cpu"])]
    if "memory" in limits:
        args += ["--memory", str(memory_bytes(limits["memory"]))]
    return args


def _start_params(params: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """``rayStartParams`` as flags, plus the resources KubeRay derives from the limits."""
    limits = (container.get("resources") or {}).get("limits") or {}
    derived = dict(params)
    if "num-cpus" not in derived and "cpu" in limits:
        derived["num-cpus"] = str(math.ceil(float(cpus(limits["cpu"]))))  # Quantity.Value()
    if "memory" not in derived and "memory" in limits:
        derived["memory"] = str(memory_bytes(limits["memory"]))
    if "num-gpus" not in derived and "nvidia.com/gpu" in limits:
        derived["num-gpus"] = str(limits["nvidia.com/gpu"])
    return [f"--{key}={value}" for key, value in derived.items()]
