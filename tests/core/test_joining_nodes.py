"""A driver that joins a cluster before its workers: it waits for them, then checks resources.

Real Ray processes on this machine: a head that runs no trials (as a RayJob's head does when the
cluster has workers) and a worker node that joins while ``hpo run`` is already waiting.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.campaigns import campaign, write
from tests.support.poll import wait_until
from tests.support.processes import free_port, stop
from tests.support.ray_nodes import BIN, node_env, start_head, start_node, wait_for_head

pytestmark = pytest.mark.slow


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


def test_the_driver_waits_for_workers_before_judging_resources(tmp_path, ray_temp_dir):
    temp = ray_temp_dir
    env = node_env(tmp_path)
    doc = campaign(budget={"trials": 2, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 2},
                   strategy={"scheduler": {"type": "fifo"}}, resources={"perTrial": {"cpu": 1}})
    manifest_file = write(tmp_path, doc)
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = start_head(port, temp / "h", env, tmp_path / "head.log")
    worker = None
    try:
        wait_for_head(address, env, 90, tmp_path / "head.log")
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
        waiting = wait_until(lambda: _status(tmp_path / "joined" / "status.json"), 60,
                             message="the status of a driver waiting for nodes")
        assert waiting["phase"] == "Pending", waiting
        assert "for 2 Ray nodes to join (1 so far)" in waiting["message"]
        assert _condition(waiting, "NodesReady")["reason"] == "WaitingForNodes"
        assert run.poll() is None, run.communicate()[0]  # still waiting, not failed
        worker = start_node([f"--address={address}", "--num-cpus=1", f"--temp-dir={temp / 'w'}"],
                            env, tmp_path / "worker.log")
        out, _ = run.communicate(timeout=240)
        assert run.returncode == 0, (out, (tmp_path / "worker.log").read_text()[-2000:])
        status = json.loads((tmp_path / "joined" / "status.json").read_text())
        assert status["phase"] == "Succeeded" and status["trials"]["completed"] == 2, status
        assert _condition(status, "NodesReady")["status"] == "True"
    finally:
        if worker is not None:
            stop(worker, timeout=40)
        stop(head, timeout=40)
