"""A real single-node Slurm cluster for the session, and helpers to drive ``hpo`` against it.

The cluster comes from ``scripts/slurm-up.sh`` (Debian slurm-wlm + munge, installed with apt-get
when missing; daemons started by hand, no systemd) and is stopped by ``scripts/slurm-down.sh``, by
PID, at the end, unless it was already running before the session (then it is someone else's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.campaigns import campaign, replace, write

STATE = Path(os.environ.get("SLURM_CI_STATE", "/tmp/slurm-ci"))


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def slurm_cluster():
    """Bring the cluster up (or reuse a running one); stop what this session started."""
    already = _alive(STATE / "slurmctld.pid") and _alive(STATE / "slurmd.pid")
    if not already:
        if os.geteuid() != 0 and shutil.which("slurmctld") is None:
            pytest.skip("the Slurm tests install and start Slurm, which needs root")
        up = subprocess.run(["bash", str(REPO / "scripts" / "slurm-up.sh")],
                            capture_output=True, text=True, timeout=600)
        if up.returncode != 0:
            pytest.fail(f"slurm-up.sh failed:\n{up.stdout}\n{up.stderr}")
    yield STATE
    if not already:
        subprocess.run(["bash", str(REPO / "scripts" / "slurm-down.sh")], capture_output=True,
                       timeout=60)


# The Slurm campaigns: a seeded FIFO search of LrWidthCurve, one CPU per trial.
SLURM_CAMPAIGN = {
    "searchSpace": replace({"lr": {"type": "float", "min": 0.001, "max": 0.1, "log": True},
                            "width": {"type": "int", "min": 1, "max": 8}}),
    "strategy": {"scheduler": {"type": "fifo"}, "searcher": {"type": "random", "seed": 7}},
    "budget": {"maxConcurrentTrials": None},
    "resources": {"perTrial": {"cpu": 1}},
}


def manifest(directory: Path, name: str, *,
             entrypoint: str = "tests.support.trainables:LrWidthCurve", trials: int = 4,
             iterations: int = 3, sleep: float = 0.0) -> Path:
    """The campaign ``name`` as ``directory/<name>.yaml``."""
    return write(directory, campaign(
        name, SLURM_CAMPAIGN, budget={"trials": trials, "maxIterationsPerTrial": iterations},
        trainable={"entrypoint": entrypoint, "config": {"sleep": sleep}}))


def hpo(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpo_operator", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=cwd)


def status_json(job_id: str, storage: Path, env: dict[str, str], wait: bool = False) -> dict:
    args = ["status", job_id, "--storage", str(storage), "--json"]
    if wait:
        args += ["--wait", "--timeout", "240"]
    proc = hpo(*args, env=env, timeout=300)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def complete_condition(status: dict) -> dict:
    return next(c for c in status["conditions"] if c["type"] == "Complete")
