"""The control-plane benchmarks' trainable starts its concurrent actors together
(benchmarks/workloads.py): an actor process waits for the run's other actors before its first
trial, so that no run falls into Tune's one-actor mode by chance. The environment is the one the
benchmarks give their runs (hpo_cli.bench_env)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.poll import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import hpo_cli  # noqa: E402

WAIT = "import workloads; workloads.start_together(timeout=120); print('started')"


def test_an_actor_waits_for_the_others_and_starts_once_they_are_there(tmp_path: Path) -> None:
    env = hpo_cli.bench_env(tmp_path, actors=2)
    directory = Path(env[hpo_cli.START_TOGETHER_DIR])
    proc = subprocess.Popen([sys.executable, "-c", WAIT], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        registered = wait_until(lambda: os.listdir(directory), 120,
                                message="the actor to register itself")
        assert registered == [str(proc.pid)]
        time.sleep(1)
        assert proc.poll() is None, "started before the second actor was there"
        (directory / "other-actor").touch()
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "started"
    finally:
        proc.kill()
        proc.wait()


def test_without_the_setting_an_actor_starts_at_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hpo_cli.START_TOGETHER_DIR, raising=False)
    monkeypatch.delenv(hpo_cli.START_TOGETHER_ACTORS, raising=False)
    done = subprocess.run([sys.executable, "-c", WAIT], env=hpo_cli.bench_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "started", done.stderr
