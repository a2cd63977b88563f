"""``start-worker.sh`` and ``waitnodes`` with real Ray processes, outside Slurm.

The test cluster has one node, so a batch job never starts workers there; this runs the worker
script by hand against a real head on this machine (two Ray nodes on one host), which is what the
batch script's ``srun ... start-worker.sh`` does on each other node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.processes import free_port, stop
from tests.support.ray_nodes import node_env, start_head, wait_for_head

pytestmark = pytest.mark.slow


def _waitnodes(address: str, nodes: int, timeout: float, watch: int, env: dict, error: Path):
    return subprocess.run(
        [sys.executable, "-m", "hpo_operator.slurm.waitnodes", "--address", address,
         "--nodes", str(nodes), "--timeout", str(timeout), "--watch", str(watch),
         "--error-file", str(error)], env=env, capture_output=True, text=True, timeout=120)


def _cluster_resources(address: str, env: dict) -> dict:
    probe = subprocess.run(
        [sys.executable, "-c", "import json, sys, ray; ray.init(address=sys.argv[1], "
         "logging_level='ERROR'); print(json.dumps(ray.cluster_resources()))", address],
        env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout.strip().splitlines()[-1])


def test_a_worker_joins_the_head_and_waitnodes_sees_it_go(tmp_path, ray_temp_dir):
    temp = ray_temp_dir
    env = node_env(tmp_path, SLURM_CPUS_PER_TASK="1", HPO_RAY_NODE_IP="127.0.0.1",
                   HPO_RAY_START_TIMEOUT="90")
    port = free_port()
    address = f"127.0.0.1:{port}"
    # The worker is started first: it must wait for the head by checking it, not fail.
    worker = subprocess.Popen(
        ["bash", str(REPO / "slurm" / "start-worker.sh"), address],
        env={**env, "HPO_RAY_TEMP_DIR": str(temp / "w"),
             "HPO_RAY_RESOURCES": '{"accel_v5": 2}'},
        stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)
    time.sleep(1)
    head = start_head(port, temp / "h", env, tmp_path / "head.log")
    try:
        wait_for_head(address, env, 90, tmp_path / "head.log")
        joined = _waitnodes(address, 2, 90, worker.pid, env, tmp_path / "err")
        assert joined.returncode == 0, (joined.stderr, (tmp_path / "worker.log").read_text())
        # The worker advertises the custom resources the batch script exports.
        assert _cluster_resources(address, env).get("accel_v5") == 2
        stop(worker, timeout=40)
        gone = _waitnodes(address, 2, 60, worker.pid, env, tmp_path / "err")
        assert gone.returncode == 1
        assert "worker step exited with 1 of 2 nodes up" in (tmp_path / "err").read_text()
    finally:
        stop(worker, timeout=40)
        stop(head, timeout=40)


def test_waitnodes_gives_up_at_once_when_the_head_has_exited(tmp_path):
    # No Ray at the address at all: the head's process is gone, so there is nothing to retry.
    head = subprocess.Popen(["true"])
    head.wait()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hpo_operator.slurm.waitnodes", "--address",
         f"127.0.0.1:{free_port()}", "--nodes", "2", "--timeout", "60", "--head", str(head.pid),
         "--error-file", str(tmp_path / "err")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "the Ray head exited" in (tmp_path / "err").read_text()
    assert time.monotonic() - started < 30  # not the 60 s timeout
