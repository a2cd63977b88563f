"""Real Ray nodes on this machine for the multi-node tests: a head, workers, and the wait for a
head to answer. Token authentication is on, as on the clusters the backends start. Their
``--temp-dir`` comes from the ``ray_temp_dir`` fixture (tests/conftest.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.support.poll import wait_until

BIN = Path(sys.executable).parent


def node_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment with this venv's ``ray`` on PATH and a fresh auth token in ``tmp_path``."""
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), **extra}


def start_node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``ray start --block`` on the loopback address with ``args``; output goes to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(BIN / "ray"), "start", "--block", "--node-ip-address=127.0.0.1",
             "--disable-usage-stats", *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def start_head(port: int, temp_dir: Path, env: dict[str, str],
               log: Path) -> subprocess.Popen[bytes]:
    """A head that runs no tasks (``--num-cpus=0``), as a RayJob's or a batch job's head is when
    the cluster has workers."""
    return start_node(["--head", f"--port={port}", "--num-cpus=0", "--include-dashboard=false",
                       f"--temp-dir={temp_dir}"], env, log)


def head_answers(address: str, env: dict[str, str]) -> bool:
    return subprocess.run([str(BIN / "ray"), "health-check", "--address", address], env=env,
                          capture_output=True).returncode == 0


def wait_for_head(address: str, env: dict[str, str], timeout: float,
                  log: Path | None = None) -> None:
    """Wait until ``ray health-check`` passes at ``address``; the timeout names the head's log."""
    what = f"the Ray head at {address}"
    if log is not None:
        what += f" (log: {log})"
    try:
        wait_until(lambda: head_answers(address, env), timeout, interval=1, message=what)
    except TimeoutError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise TimeoutError(f"{exc}\n{tail}".rstrip()) from None
