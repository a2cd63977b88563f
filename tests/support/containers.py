"""Containers for the tests: the images built by ``scripts/build-images.sh`` (the script behind
``make images``), run with podman on that script's private configuration and storage.

Everything made here (images, containers, networks) is recorded when it is made and removed by
its id, never by a name pattern; a container's output is kept in a log file before it goes.
Networks are ``--internal``: containers reach each other and this machine's address on the
network (where the tests' servers listen), nothing beyond it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import REPO
from tests.support.poll import wait_until

BUILD_SCRIPT = REPO / "scripts/build-images.sh"
WORK_DIR = REPO / ".cache/containers"
TOOLS = ("buildah", "podman", "mmdebstrap", "runc")
NOISE = "failed to connect to syslog"  # podman's cleanup process on a machine without syslog


def unavailable_reason() -> str | None:
    """Why no container engine can be had here, or None when one can (buildah and podman, or
    root to install them from the Debian archive, as the build script does)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return None
    docker = shutil.which("docker") and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    return (f"no container engine for the test images: {', '.join(missing)} missing and not root "
            "to install them" + ("; a Docker daemon answers, but the test build mounts a CPU "
                                 "torch wheel into the build, which needs buildah" if docker else
                                 ", and no Docker daemon answers"))


class EngineError(RuntimeError):
    pass


@dataclass
class Network:
    name: str
    id: str
    gateway: str
    """This machine's address on the network: where containers reach the tests' servers."""


@dataclass
class Podman:
    """The podman CLI on the build script's storage; records what it creates."""

    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.env = {**os.environ, "CONTAINERS_CONF": str(WORK_DIR / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(WORK_DIR / "storage.conf")}
        self.logs.mkdir(parents=True, exist_ok=True)

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        done = subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise EngineError(f"podman {' '.join(args[:3])} ... exited {done.returncode}: "
                              f"{_clean(done.stderr)[-2000:]}")
        return done.stdout.strip()

    def succeeds(self, *args: str, timeout: float = 60) -> bool:
        return subprocess.run(["podman", *args], env=self.env, capture_output=True,
                              timeout=timeout, check=False).returncode == 0

    def popen(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            return subprocess.Popen(["podman", *args], env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT)

    def run(self, *args: str) -> str:
        """``podman run -d ARGS``: the new container's id, recorded for removal."""
        cid = self("run", "-d", *args, timeout=180)
        self.containers.append(cid)
        return cid

    def run_to_end(self, name: str, *args: str, timeout: float) -> tuple[int, str]:
        """``podman run`` to its end (polled, with a deadline): exit code and output."""
        cid = self.run("--name", name, *args)
        try:
            wait_until(lambda: not self.running(cid), timeout, interval=1.0,
                       message=f"container {name} to finish")
            code = int(self("inspect", "--format", "{{.State.ExitCode}}", cid))
            return code, self.save_logs(cid, name).read_text()
        finally:
            self.remove(cid, name)

    def inspect(self, cid: str) -> dict[str, Any]:
        return dict(json.loads(self("inspect", cid))[0])

    def running(self, cid: str) -> bool:
        return self("inspect", "--format", "{{.State.Running}}", cid, check=False) == "true"

    def address(self, cid: str, network: Network) -> str:
        return str(self.inspect(cid)["NetworkSettings"]["Networks"][network.name]["IPAddress"])

    def save_logs(self, cid: str, name: str) -> Path:
        path = self.logs / f"{name}.log"
        done = subprocess.run(["podman", "logs", cid], env=self.env, capture_output=True,
                              text=True, timeout=60, check=False)
        path.write_text(_clean(done.stdout + done.stderr))
        return path

    def remove(self, cid: str, name: str | None = None) -> None:
        """Keep the container's output (in ``logs/NAME.log``), then remove it by its id."""
        if cid not in self.containers:
            return
        if name:
            self.save_logs(cid, name)
        self("rm", "-f", "-t", "0", cid, timeout=120, check=False)
        self.containers.remove(cid)

    def network(self) -> Network:
        """An internal network on a subnet of its own: another checkout's private podman does not
        know this one's networks, so the subnet is not left to its choice of the next free one
        (podman 4.3 names the bridge itself, after the interfaces that exist)."""
        name = f"hpo-test-{uuid.uuid4().hex[:8]}"
        self("network", "create", "--internal", "--subnet", _free_subnet(), name)
        info = json.loads(self("network", "inspect", name))[0]
        self.networks.append(info["id"])
        return Network(name=name, id=info["id"], gateway=info["subnets"][0]["gateway"])

    def remove_network(self, network: Network) -> None:
        if network.id in self.networks:
            self("network", "rm", "-f", network.id, check=False)
            self.networks.remove(network.id)

    def close(self) -> None:
        for cid in list(self.containers):
            self.remove(cid, f"leftover-{cid[:12]}")
        for network_id in list(self.networks):
            self("network", "rm", "-f", network_id, check=False)
            self.networks.remove(network_id)


def _free_subnet() -> str:
    """A /24 in 10.89.0.0/16 (podman's own range) that no interface or route of this machine
    uses."""
    used = ""
    if shutil.which("ip"):
        used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True,
                              check=False).stdout + subprocess.run(
            ["ip", "-4", "route"], capture_output=True, text=True, check=False).stdout
    for _ in range(50):
        third = random.randint(16, 250)
        if f"10.89.{third}." not in used:
            return f"10.89.{third}.0/24"
    raise EngineError("no free 10.89.x.0/24 subnet for a test network")


def _clean(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if NOISE not in line)


@dataclass
class Images:
    operator: str
    trainer: str
    ids: list[str]
    build_seconds: float


def build_images(podman: Podman, log: Path, timeout: float = 2400) -> Images:
    """Both targets, once, by the script ``make images`` runs: a test build (CPU torch) under a
    tag of its own, so that it replaces no image a person built. A failed build is tried once
    more (it downloads about 1 GB from PyPI); the error holds the end of both attempts' output."""
    import time

    prefix, tag = "localhost/hpo-test", uuid.uuid4().hex[:10]
    env = {**os.environ, "IMAGE_PREFIX": prefix, "IMAGE_TAG": tag, "TORCH": "cpu",
           "ENGINE": "buildah", "TARGETS": "operator trainer"}
    start = time.monotonic()
    failures = []
    for attempt in (1, 2):
        attempt_log = log.with_suffix(f".{attempt}.log")
        with open(attempt_log, "wb") as out:
            done = subprocess.run(["bash", str(BUILD_SCRIPT), "build"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout, cwd=REPO,
                                  check=False)
        if done.returncode == 0:
            break
        failures.append(f"attempt {attempt}: scripts/build-images.sh exited {done.returncode}; "
                        "its output ends:\n"
                        + _clean(attempt_log.read_text(errors="replace"))[-3000:])
    else:
        raise EngineError("\n\n".join(failures))
    names = [f"{prefix}/{target}:{tag}" for target in ("operator", "trainer")]
    ids = [podman("image", "inspect", "--format", "{{.Id}}", name) for name in names]
    return Images(names[0], names[1], ids, time.monotonic() - start)


def remove_images(podman: Podman, images: Images) -> None:
    for image_id in images.ids:
        podman("rmi", "-f", image_id, timeout=300, check=False)


def wait_running(podman: Podman, cid: str, name: str, probe: Any, timeout: float, what: str) -> Any:
    """Poll ``probe`` while the container runs; a container that exits fails with its output."""
    def check() -> Any:
        if not podman.running(cid):
            output = podman.save_logs(cid, name).read_text()[-3000:]
            raise EngineError(f"container {name} exited while waiting for {what}:\n{output}")
        return probe()
    return wait_until(check, timeout, interval=1.0, message=what)
