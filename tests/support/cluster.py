"""Processes for the operator's end-to-end tests: the Kubernetes emulator, kubectl, the operator.

Each process is started by the tests and stopped by its own PID (never by name). The emulator
listens on a free loopback port; kubectl and the operator reach it through a kubeconfig file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.support import REPO
from tests.support.poll import wait_until
from tests.support.processes import free_port, stop

BIN = Path(sys.executable).parent


class EmulatedCluster:
    """The emulator process plus a kubeconfig pointing at it. ``host``: the address it listens
    on, loopback unless containers must reach it (this machine's address on their network)."""

    def __init__(self, workdir: Path, host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        self.port = free_port(host)
        self.server = f"http://{host}:{self.port}"
        self.kubeconfig = workdir / "kubeconfig"
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.server}}],
            "users": [{"name": "anonymous", "user": {}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator",
                                                          "user": "anonymous",
                                                          "namespace": "default"}}]}))
        self.log = open(workdir / "emulator.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests/support/kube_emulator.py"), str(self.port), host],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 20, message="the Kubernetes emulator to listen")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the emulator exited: {(self.workdir / 'emulator.log').read_text()}")
        try:
            return requests.get(self.server + "/version", timeout=1).ok
        except requests.ConnectionError:
            return False

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), **extra}

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        """The real kubectl binary. The emulator serves no OpenAPI, hence --validate=false."""
        argv = [str(BIN / "kubectl"), f"--cache-dir={self.workdir / 'kube-cache'}", *args]
        if args and args[0] in ("apply", "create"):
            argv.append("--validate=false")
        done = subprocess.run(argv, env=self.env(), input=stdin, capture_output=True, text=True,
                              timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout if done.returncode == 0 else done.stderr

    def get_json(self, *args: str) -> dict[str, Any] | None:
        out = self.kubectl("get", *args, "-o", "json", check=False)
        try:
            return dict(json.loads(out))
        except ValueError:
            return None

    def close(self) -> None:
        stop(self.proc)
        self.log.close()


class OperatorProcess:
    """``hpo operator`` as the chart runs it, against the emulator."""

    def __init__(self, cluster: EmulatedCluster, env: dict[str, str]) -> None:
        self.cluster, self.extra_env = cluster, env
        self.metrics_port = free_port()
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.cluster.workdir / f"operator-{self.starts}.log"

    def start(self) -> OperatorProcess:
        self.starts += 1
        self.log = open(self.log_path, "wb")
        env = self.cluster.env(HPO_METRICS_PORT=str(self.metrics_port), **self.extra_env)
        self.proc = subprocess.Popen([str(BIN / "hpo"), "operator"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.cluster.workdir)
        wait_until(self._metrics_up, 30, message="the operator's /metrics endpoint")
        return self

    def _metrics_up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the operator exited: {self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=1).ok
        except requests.ConnectionError:
            return False

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, like a crashed or evicted operator pod."""
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL)
            self.log.close()

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.log.close()
