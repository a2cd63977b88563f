"""How the benchmarks run things: each campaign through `hpo run` in a fresh process, as a user
would, so that wall times include everything a user waits for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str], cwd: Path) -> float:
    """Wall seconds of ``cmd``; the benchmark workloads are importable from it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "RAY_AIR_NEW_OUTPUT": "0"}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the campaign failed, which the caller reports
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def hpo_run(doc: dict[str, Any], work: Path) -> tuple[float, Path, dict[str, Any]]:
    """Run the campaign ``doc`` with storage under ``work``: (wall seconds, experiment, status)."""
    name = doc["metadata"]["name"]
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    status_file = work / f"{name}.status.json"
    seconds = timed([sys.executable, "-m", "hpo_operator", "run", str(path), "--quiet",
                     "--storage", str(work / "runs"), "--status-file", str(status_file)], work)
    return seconds, work / "runs" / name, json.loads(status_file.read_text())
