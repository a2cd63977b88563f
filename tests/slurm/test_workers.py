"""``start-worker.sh`` and ``waitnodes`` with real Ray processes, outside Slurm.

The test cluster has one node, so a batch job never starts workers there; this runs the worker
script by hand against a real head on this machine (two Ray nodes on one host), which is what the
batch script's ``srun ... start-worker.sh`` does on each other node.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _waitnodes(address: str, nodes: int, timeout: float, watch: int, env: dict, error: Path):
    return subprocess.run(
        [sys.executable, "-m", "hpo_operator.slurm.waitnodes", "--address", address,
         "--nodes", str(nodes), "--timeout", str(timeout), "--watch", str(watch),
         "--error-file", str(error)], env=env, capture_output=True, text=True, timeout=120)


def _head_ready(address: str, env: dict, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run([str(BIN / "ray"), "health-check", "--address", address], env=env,
                          capture_output=True).returncode == 0:
            return True
        time.sleep(1)
    return False


def test_a_worker_joins_the_head_and_waitnodes_sees_it_go(tmp_path):
    # Ray's socket paths must stay under 108 bytes: pytest's tmp_path is too deep for them.
    temp = Path(tempfile.mkdtemp(prefix="ray-hpo-t"))
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN_PATH": str(token), "SLURM_CPUS_PER_TASK": "1",
           "HPO_RAY_NODE_IP": "127.0.0.1", "HPO_RAY_START_TIMEOUT": "90"}
    address = f"127.0.0.1:{_free_port()}"
    # The worker is started first: it must wait for the head by checking it, not fail.
    worker = subprocess.Popen(
        ["bash", str(REPO / "slurm" / "start-worker.sh"), address],
        env={**env, "HPO_RAY_TEMP_DIR": str(temp / "w")},
        stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)
    time.sleep(1)
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", f"--port={address.split(':')[1]}",
         "--node-ip-address=127.0.0.1", "--num-cpus=0", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp / 'h'}"],
        env=env, stdout=open(tmp_path / "head.log", "w"), stderr=subprocess.STDOUT)
    try:
        assert _head_ready(address, env, 90), (tmp_path / "head.log").read_text()[-2000:]
        joined = _waitnodes(address, 2, 90, worker.pid, env, tmp_path / "err")
        assert joined.returncode == 0, (joined.stderr, (tmp_path / "worker.log").read_text())
        _stop(worker)
        gone = _waitnodes(address, 2, 60, worker.pid, env, tmp_path / "err")
        assert gone.returncode == 1
        assert "worker step exited with 1 of 2 nodes up" in (tmp_path / "err").read_text()
    finally:
        _stop(worker)
        _stop(head)
        shutil.rmtree(temp, ignore_errors=True)
