"""A real MLflow tracking server on loopback for the tracking tests: SQLite runs, local artifacts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.poll import wait_until
from tests.support.processes import free_port

MLFLOW = Path(sys.executable).parent / "mlflow"


def _healthy(uri: str, server: subprocess.Popen[bytes], log: Path) -> bool:
    if server.poll() is not None:
        raise RuntimeError(f"mlflow server exited with {server.returncode}: "
                           f"{log.read_text(errors='replace')[-2000:]}")
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


@contextmanager
def mlflow_server(directory: Path, timeout: float = 180) -> Iterator[str]:
    """Start ``mlflow server`` in ``directory``; yield its URI; stop it (and its workers, in the
    process group it was started in) at the end."""
    port = free_port()
    log = directory / "mlflow-server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}",
             "--default-artifact-root", str(directory / "artifacts")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(uri, server, log), timeout, interval=1,
                   message=f"the MLflow server at {uri} (log: {log})")
        yield uri
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the group this test started, no other
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
