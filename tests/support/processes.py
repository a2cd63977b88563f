"""Processes a test starts: a free port for them, and stopping them by their own handle."""

from __future__ import annotations

import signal
import socket
import subprocess
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` (the loopback interface unless told) that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Send ``sig`` to ``proc`` (this process only, never by name) and wait for it to exit;
    SIGKILL it when it has not after ``timeout`` seconds. A process already gone is left alone."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
