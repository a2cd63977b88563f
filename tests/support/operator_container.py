"""``hpo operator`` in the operator image, as the Helm chart's pod runs it, against the emulator.

The same interface as :class:`tests.support.cluster.OperatorProcess` (start, kill, stop, metrics,
log_path), so the end-to-end scenario runs unchanged with the operator in its container. The
container is locked down as the chart's pod is (values.yaml: podSecurityContext, securityContext,
resources; the Deployment's args and its /tmp emptyDir): uid and gid 10001, a read-only root
filesystem with nothing writable but /tmp, every capability dropped, no privilege escalation.
It reads a kubeconfig mounted read-only that points at the emulator on this machine's address
on the test network; its metrics are read at the container's own address on that network.
"""

from __future__ import annotations

from pathlib import Path

import requests

from tests.support.cluster import EmulatedCluster
from tests.support.containers import Network, Podman, wait_running

KUBECONFIG = "/etc/hpo-operator/kubeconfig"
METRICS_PORT = 9090
LIVENESS_PORT = 8080
LOCKED_DOWN = ["--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp", "--cap-drop=ALL",
               "--security-opt=no-new-privileges", "--user", "10001:10001",
               "--memory", str(512 * 2**20)]


class OperatorContainer:
    def __init__(self, podman: Podman, image: str, network: Network, cluster: EmulatedCluster,
                 env: dict[str, str]) -> None:
        self.podman, self.image, self.network, self.cluster = podman, image, network, cluster
        self.extra_env = env
        self.starts = 0
        self.cid: str | None = None
        self.address = ""

    @property
    def name(self) -> str:
        return f"operator-{self.network.name}-{self.starts}"

    @property
    def log_path(self) -> Path:
        return self.podman.logs / f"{self.name}.log"

    def start(self) -> OperatorContainer:
        self.starts += 1
        env = {"KUBECONFIG": KUBECONFIG, "HPO_METRICS_PORT": str(METRICS_PORT), **self.extra_env}
        self.cid = self.podman.run(
            "--name", self.name, "--network", self.network.name, *LOCKED_DOWN,
            "-v", f"{self.cluster.kubeconfig}:{KUBECONFIG}:ro",
            *[f"--env={k}={v}" for k, v in env.items()], self.image,
            "operator", "--liveness", f"http://0.0.0.0:{LIVENESS_PORT}/healthz")
        self.address = self.podman.address(self.cid, self.network)
        wait_running(self.podman, self.cid, self.name, self._metrics_up, 90,
                     "the operator container's /metrics endpoint")
        return self

    def _metrics_up(self) -> bool:
        try:
            return requests.get(self.url, timeout=2).ok
        except requests.ConnectionError:
            return False

    @property
    def url(self) -> str:
        return f"http://{self.address}:{METRICS_PORT}/metrics"

    def metrics(self) -> str:
        return requests.get(self.url, timeout=5).text

    def kill(self) -> None:
        """SIGKILL, no graceful shutdown: like a crashed or evicted operator pod."""
        if self.cid is not None:
            self.podman("kill", "--signal", "KILL", self.cid, check=False)
            self.podman.remove(self.cid, self.name)
            self.cid = None

    def stop(self) -> None:
        if self.cid is not None:
            self.podman("stop", "-t", "15", self.cid, check=False, timeout=60)
            self.podman.remove(self.cid, self.name)
            self.cid = None
