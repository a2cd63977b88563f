"""The Ray token a campaign's pods get, on a real Ray cluster on this machine's loopback.

The head is started the way KubeRay starts the campaign's head pod, with the environment that
pod gets (its ``env``, the token resolved from the campaign's Secret as the kubelet would); then
a driver without the token (any other pod of the cluster) is refused before it runs any code,
while the campaign's own processes (the driver in the head pod, a worker, KubeRay's submitter)
get in. Every Ray process is started here in a process group of its own and stopped by killing
that group: nothing else on the machine is touched.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.kuberay.render import build_objects
from hpo_operator.kuberay.security import new_token

from tests.support.poll import wait_until
from tests.support.processes import free_port

from .conftest import campaign_doc

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
# The job API lives in the dashboard's job module, which needs ray[default] (the cluster image
# has it); with the minimal Ray the dashboard serves no HTTP at all.
JOB_API = all(importlib.util.find_spec(m) for m in ("aiohttp_cors", "grpc"))
# A driver: runs a task that leaves a file behind, the proof that its code ran on the cluster.
DRIVER = """
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False)
@ray.remote
def mark(path):
    open(path, "w").write("ran")
    return len([n for n in ray.nodes() if n["Alive"]])
print("nodes", ray.get(mark.remote(sys.argv[2])))
"""


def resolved(container: dict[str, Any], secret: dict[str, Any]) -> dict[str, str]:
    """A container's ``env`` as the kubelet resolves it, against the campaign's Secret."""
    env = {}
    for var in container["env"]:
        ref = (var.get("valueFrom") or {}).get("secretKeyRef")
        if ref is None:
            env[var["name"]] = var["value"]
        else:
            assert ref["name"] == secret["metadata"]["name"]
            env[var["name"]] = secret["stringData"][ref["key"]]
    return env


@dataclass
class Cluster:
    address: str
    dashboard: str
    token: str
    pods: dict[str, dict[str, str]]  # head, worker, submitter: their resolved env
    base: dict[str, str]  # a process with none of Ray's auth settings
    temp: Path

    def env(self, pod: str | None = None, **extra: str) -> dict[str, str]:
        return {**self.base, **(self.pods[pod] if pod else {}), **extra}

    def drive(self, env: dict[str, str], marker: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", DRIVER, self.address, str(marker)], env=env,
                              capture_output=True, text=True, timeout=120, cwd=self.temp, check=False)

    def health_check(self, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "ray"), "health-check", "--address", self.address],
                              env=env, capture_output=True, text=True, timeout=60, check=False)


def start_ray(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([str(BIN / "ray"), "start", "--block", "--disable-usage-stats",
                                 "--node-ip-address=127.0.0.1", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a ``ray start`` and every process it started: its own process group."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(proc):
            time.sleep(0.5)
        if not _group_alive(proc):
            break
    proc.wait(timeout=10)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    proc.poll()
    try:
        os.killpg(proc.pid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    campaign = parse_campaign(campaign_doc("tok", resources={
        "cluster": {"workers": 1}, "perTrial": {"cpu": 1}}))
    built = {d["kind"]: d for d in build_objects(campaign, owner_uid="u", token=new_token())}
    job, secret = built["RayJob"]["spec"], built["Secret"]
    head_group = job["rayClusterSpec"]["headGroupSpec"]
    [workers] = job["rayClusterSpec"]["workerGroupSpecs"]
    pods = {"head": resolved(head_group["template"]["spec"]["containers"][0], secret),
            "worker": resolved(workers["template"]["spec"]["containers"][0], secret),
            "submitter": resolved(job["submitterPodTemplate"]["spec"]["containers"][0], secret)}
    home = tmp_path_factory.mktemp("home")  # no ~/.ray/auth_token to fall back on
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_AUTH", "RAY_ADDRESS"))}
    base.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0",
                PATH=f"{BIN}{os.pathsep}{base.get('PATH', '')}")
    # Ray's socket paths must stay under 108 bytes: pytest's tmp_path is too deep for them.
    temp = Path(tempfile.mkdtemp(prefix="ray-tok-"))
    port, dashboard = free_port(), free_port()
    assert head_group["rayStartParams"]["dashboard-host"] == "0.0.0.0"  # here: loopback only
    head = start_ray(["--head", f"--port={port}", "--num-cpus=1",
                      f"--include-dashboard={str(JOB_API).lower()}", "--dashboard-host=127.0.0.1",
                      f"--dashboard-port={dashboard}", f"--dashboard-agent-listen-port={free_port()}",
                      f"--metrics-export-port={free_port()}", f"--temp-dir={temp / 'h'}"],
                     {**base, **pods["head"]}, temp / "head.log")
    ray_cluster = Cluster(f"127.0.0.1:{port}", f"http://127.0.0.1:{dashboard}",
                          secret["stringData"]["auth_token"], pods, base, temp)
    def ready() -> bool:
        assert head.poll() is None, (temp / "head.log").read_text()[-3000:]
        return ray_cluster.health_check(ray_cluster.env("head")).returncode == 0

    try:
        wait_until(ready, 120, interval=1, message="the Ray head")
        yield ray_cluster
    finally:
        stop_group(head)
        shutil.rmtree(temp, ignore_errors=True)


def test_every_pod_gets_the_campaigns_token(cluster: Cluster) -> None:
    expected = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": cluster.token}
    assert cluster.pods == {"head": expected, "worker": expected, "submitter": expected}


def test_a_driver_without_the_token_runs_nothing(cluster: Cluster) -> None:
    marker = cluster.temp / "no-token"
    done = cluster.drive(cluster.env(), marker)
    assert done.returncode != 0 and not marker.exists(), done.stdout
    assert "Failed to connect" in done.stderr, done.stderr[-2000:]
    # What the GCS says to such a client: not a network problem, a missing token.
    check = cluster.health_check(cluster.env())
    assert check.returncode != 0 and "InvalidAuthToken" in check.stderr, check.stderr[-2000:]


def test_a_wrong_token_is_refused(cluster: Cluster) -> None:
    check = cluster.health_check(cluster.env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="x" * 43))
    assert check.returncode != 0 and "InvalidAuthToken" in check.stderr, check.stderr[-2000:]


def test_the_campaigns_driver_runs_code_and_a_worker_joins(cluster: Cluster) -> None:
    worker = start_ray([f"--address={cluster.address}", "--num-cpus=1",
                        f"--metrics-export-port={free_port()}",
                        f"--dashboard-agent-listen-port={free_port()}",
                        f"--temp-dir={cluster.temp / 'w'}"],
                       cluster.env("worker"), cluster.temp / "worker.log")
    try:
        def two_nodes() -> bool:
            marker = cluster.temp / f"driver-{time.monotonic_ns()}"
            done = cluster.drive(cluster.env("head"), marker)
            assert done.returncode == 0 and marker.read_text() == "ran", done.stderr[-2000:]
            return "nodes 2" in done.stdout

        wait_until(two_nodes, 120, interval=2,
                   message="the worker to join with the campaign's token")
    finally:
        stop_group(worker)


@pytest.mark.skipif(not JOB_API, reason="the job API needs ray[default] (aiohttp_cors, grpcio)")
def test_job_submission_needs_the_token(cluster: Cluster) -> None:
    def submit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "ray"), "job", "submit", "--address", cluster.dashboard,
                               "--no-wait", "--", "python", "-c", "print('hello')"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)

    refused = submit(cluster.env())
    assert refused.returncode != 0, refused.stdout
    wrong = submit(cluster.env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="x" * 43))
    assert wrong.returncode != 0, wrong.stdout
    accepted = submit(cluster.env("submitter"))  # what KubeRay's submitter pod runs
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "raysubmit_" in accepted.stdout + accepted.stderr
