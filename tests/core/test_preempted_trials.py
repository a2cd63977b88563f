"""A trial whose node goes away is retried from its checkpoint on another node, as no failure.

Real Ray processes on this machine: a head that runs no trials and two worker nodes of one CPU.
The campaign has the defaults (``maxTrialRetries: 0``, ``failFast: true``), under which one trial
failure would end it. The node running the trial is killed (its raylet first, as a node lost to
an eviction or a hardware failure) while the trial waits in its third iteration; the trial goes
on from its second iteration's checkpoint on the other node.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.support.campaigns import campaign, write
from tests.support.poll import wait_until
from tests.support.processes import free_port, stop
from tests.support.ray_nodes import BIN, node_env, start_head, start_node, wait_for_head

pytestmark = pytest.mark.slow


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    root = psutil.Process(proc.pid)
    return [root, *root.children(recursive=True)]


def _kill_node(node: subprocess.Popen) -> None:
    """SIGKILL the node's raylet, then every other process of it, and wait for them to go."""
    procs = _tree(node)
    procs.sort(key=lambda p: p.name() != "raylet")
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=30)


def _started(log: Path, node: subprocess.Popen) -> bool:
    """Whether ``ray start`` says its node is up (its raylet registered with the head)."""
    if node.poll() is not None:
        raise AssertionError(f"a Ray node exited: {log.read_text(errors='replace')[-2000:]}")
    return log.exists() and "Ray runtime started." in log.read_text(errors="replace")


def _waiting_pid(work: Path, run: subprocess.Popen) -> int | None:
    if run.poll() is not None:
        raise AssertionError(f"hpo run exited early: {run.communicate()[0]}")
    found = [int(p.name.split("-")[1]) for p in work.glob("waiting-*")]
    return found[0] if found else None


def test_a_trial_whose_node_dies_resumes_on_another_node(tmp_path, ray_temp_dir):
    work = tmp_path / "work"
    work.mkdir()
    env = node_env(tmp_path)
    doc = campaign(budget={"trials": 1, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 5},
                   strategy={"scheduler": {"type": "fifo"}}, resources={"perTrial": {"cpu": 1}},
                   trainable={"entrypoint": "tests.support.stalling_trainables:"
                                            "waits_at_third_iteration",
                              "config": {"workdir": str(work)}})
    manifest = write(tmp_path, doc)
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = start_head(port, ray_temp_dir / "h", env, tmp_path / "head.log")
    nodes: list[subprocess.Popen] = []
    run = None
    try:
        wait_for_head(address, env, 90, tmp_path / "head.log")
        nodes = [start_node([f"--address={address}", "--num-cpus=1",
                             f"--temp-dir={ray_temp_dir / name}"], env, tmp_path / f"{name}.log")
                 for name in ("a", "b")]
        for name, node in zip(("head", "a", "b"), (head, *nodes)):
            wait_until(lambda name=name, node=node: _started(tmp_path / f"{name}.log", node), 240,
                       interval=0.5, message=f"Ray node {name} up")
        status_file = tmp_path / "status.json"
        run = subprocess.Popen(
            [str(BIN / "hpo"), "run", str(manifest), "--address", address, "--quiet",
             "--storage", str(tmp_path / "runs"), "--status-file", str(status_file),
             "--wait-for-nodes", "3", "--wait-for-nodes-timeout", "120"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        pid = wait_until(lambda: _waiting_pid(work, run), 300, interval=0.2,
                         message="the trial waiting in its third iteration")
        doomed = next(n for n in nodes if any(p.pid == pid for p in _tree(n)))
        _kill_node(doomed)
        (work / "go").write_text("")

        out, _ = run.communicate(timeout=240)
        assert run.returncode == 0, out
        status = json.loads(status_file.read_text())
        assert status["phase"] == "Succeeded", status
        trials = status["trials"]
        assert trials["errored"] == 0 and trials["completed"] == 1, trials
        assert trials["preempted"] >= 1, trials
        assert status["bestTrial"]["iteration"] == 5, status["bestTrial"]
        # It went on from its checkpoint (iteration 2) in another process, on the other node.
        starts = {p.name.split("-", 2)[1]: int(p.name.rsplit("-", 1)[1])
                  for p in work.glob("ran-*")}
        assert starts[str(pid)] == 0 and sorted(starts.values()) == [0, 2], starts
        survivor = next(n for n in nodes if n is not doomed)
        assert survivor.poll() is None  # the other node stayed up and ran the rest
    finally:
        if run is not None and run.poll() is None:
            stop(run, timeout=30)
        for node in nodes:
            stop(node, timeout=40)
        stop(head, timeout=40)
