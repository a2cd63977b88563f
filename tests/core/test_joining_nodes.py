"""A driver that joins a cluster before its workers: it waits for them, then checks resources.

Real Ray processes on this machine: a head that runs no trials (as a RayJob's head does when the
cluster has workers) and a worker node that joins while ``hpo run`` is already waiting.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from cluster import free_port, stop, wait_for
from manifests import manifest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _ray_start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "ray"), "start", "--block", "--node-ip-address=127.0.0.1",
         "--disable-usage-stats", *args], env=env, stdout=open(log, "w"),
        stderr=subprocess.STDOUT)


def _hpo_run(manifest_file: Path, address: str, nodes: int, timeout: float, status: Path,
             env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "hpo"), "run", str(manifest_file), "--address", address, "--quiet",
         "--storage", str(status.parent / "runs"), "--status-file", str(status),
         "--wait-for-nodes", str(nodes), "--wait-for-nodes-timeout", str(timeout)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _status(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _condition(status: dict, kind: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_the_driver_waits_for_workers_before_judging_resources(tmp_path):
    # Ray's socket paths must stay under 108 bytes: pytest's tmp_path is too deep for them.
    temp = Path(tempfile.mkdtemp(prefix="ray-hpo-n"))
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN_PATH": str(token)}
    doc = manifest(budget={"trials": 2, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 2},
                   strategy={"scheduler": {"type": "fifo"}}, resources={"perTrial": {"cpu": 1}})
    manifest_file = tmp_path / "campaign.yaml"
    manifest_file.write_text(yaml.safe_dump(doc))
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = _ray_start(["--head", f"--port={port}", "--num-cpus=0", "--include-dashboard=false",
                       f"--temp-dir={temp / 'h'}"], env, tmp_path / "head.log")
    worker = None
    try:
        wait_for(lambda: subprocess.run([str(BIN / "ray"), "health-check", "--address", address],
                                        env=env, capture_output=True).returncode == 0,
                 90, "the Ray head")
        # No worker comes: after the wait, the head alone cannot run a trial, and the status
        # says how many nodes there were.
        alone = _hpo_run(manifest_file, address, 2, 3, tmp_path / "alone" / "status.json", env)
        out, _ = alone.communicate(timeout=120)
        assert alone.returncode == 1, out
        status = json.loads((tmp_path / "alone" / "status.json").read_text())
        assert status["phase"] == "Failed", status
        message = _condition(status, "Complete")["message"]
        assert "has 0 in all" in message and "only 1 of 2 Ray nodes joined within 3 s" in message
        assert _condition(status, "NodesReady")["reason"] == "NodesMissing"

        # The worker joins while the driver waits: the campaign runs on it.
        run = _hpo_run(manifest_file, address, 2, 120, tmp_path / "joined" / "status.json", env)
        waiting = wait_for(lambda: _status(tmp_path / "joined" / "status.json"), 60,
                           "the status of a driver waiting for nodes")
        assert waiting["phase"] == "Pending", waiting
        assert "for 2 Ray nodes to join (1 so far)" in waiting["message"]
        assert _condition(waiting, "NodesReady")["reason"] == "WaitingForNodes"
        assert run.poll() is None, run.communicate()[0]  # still waiting, not failed
        worker = _ray_start([f"--address={address}", "--num-cpus=1",
                             f"--temp-dir={temp / 'w'}"], env, tmp_path / "worker.log")
        out, _ = run.communicate(timeout=240)
        assert run.returncode == 0, (out, (tmp_path / "worker.log").read_text()[-2000:])
        status = json.loads((tmp_path / "joined" / "status.json").read_text())
        assert status["phase"] == "Succeeded" and status["trials"]["completed"] == 2, status
        assert _condition(status, "NodesReady")["status"] == "True"
    finally:
        if worker is not None:
            stop(worker, timeout=40)
        stop(head, timeout=40)
        shutil.rmtree(temp, ignore_errors=True)
