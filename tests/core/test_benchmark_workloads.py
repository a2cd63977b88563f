"""The control-plane benchmarks' trainable starts its concurrent actors together
(benchmarks/workloads.py): an actor process waits for the run's other actors before its first
trial, so that no run falls into Tune's one-actor mode by chance."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.poll import wait_until

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
WAIT = "import workloads; workloads.start_together(timeout=120); print('started')"


def waiting_actor(directory: Path, actors: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS),
           "BENCH_START_TOGETHER_DIR": str(directory), "BENCH_START_TOGETHER_ACTORS": str(actors)}
    return subprocess.Popen([sys.executable, "-c", WAIT], env=env, stdout=subprocess.PIPE,
                            text=True)


def test_an_actor_waits_for_the_others_and_starts_once_they_are_there(tmp_path: Path) -> None:
    proc = waiting_actor(tmp_path, actors=2)
    try:
        registered = wait_until(lambda: os.listdir(tmp_path), 120,
                                message="the actor to register itself")
        assert registered == [str(proc.pid)]
        time.sleep(1)
        assert proc.poll() is None, "started before the second actor was there"
        (tmp_path / "other-actor").touch()
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "started"
    finally:
        proc.kill()
        proc.wait()


def test_without_the_setting_an_actor_starts_at_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_START_TOGETHER")}
    done = subprocess.run([sys.executable, "-c", WAIT], env={**env, "PYTHONPATH": str(BENCHMARKS)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "started", done.stderr
