"""How the benchmarks run things: each campaign through `hpo run` in a fresh process, as a user
would, so that wall times include everything a user waits for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
# Set by bench_env for workloads.start_together: a directory new to the run, and how many
# actors run at once.
START_TOGETHER_DIR = "BENCH_START_TOGETHER_DIR"
START_TOGETHER_ACTORS = "BENCH_START_TOGETHER_ACTORS"


def bench_env(cwd: Path, actors: int = 0) -> dict[str, str]:
    """The environment of a benchmarked run: the workloads importable, and, given the number of
    concurrent trials, their actors started together (workloads.start_together)."""
    env = {**os.environ, "RAY_AIR_NEW_OUTPUT": "0",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    if actors:
        env[START_TOGETHER_DIR] = tempfile.mkdtemp(prefix="actors-", dir=cwd)
        env[START_TOGETHER_ACTORS] = str(actors)
    return env


def timed(cmd: list[str], cwd: Path, actors: int = 0) -> float:
    """Wall seconds of ``cmd``, run in :func:`bench_env`."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=bench_env(cwd, actors), capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the campaign failed, which the caller reports
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def hpo_run(doc: dict[str, Any], work: Path,
            actors: int = 0) -> tuple[float, Path, dict[str, Any]]:
    """Run the campaign ``doc`` with storage under ``work``: (wall seconds, experiment, status);
    ``actors``: see :func:`bench_env`."""
    name = doc["metadata"]["name"]
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    status_file = work / f"{name}.status.json"
    seconds = timed([sys.executable, "-m", "hpo_operator", "run", str(path), "--quiet",
                     "--storage", str(work / "runs"), "--status-file", str(status_file)],
                    work, actors)
    return seconds, work / "runs" / name, json.loads(status_file.read_text())
