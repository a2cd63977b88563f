"""Waiting for a Ray cluster's nodes, so that a campaign is not judged by the head alone.

On KubeRay and Slurm the driver may join the cluster before every worker has: a resource check
then would find no GPU (or, with a head that runs no trials, no CPU) and fail a campaign that the
full cluster can run.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def alive_nodes() -> int:
    """Alive nodes of the Ray cluster this process is connected to."""
    import ray

    return sum(1 for node in ray.nodes() if node.get("Alive"))


def wait_for_nodes(nodes: int, timeout: float, *, gone: Callable[[], str | None] = lambda: None,
                   interval: float = 1.0) -> str | None:
    """None once ``nodes`` are alive; otherwise why not, after ``timeout`` seconds or as soon as
    ``gone`` says what will never join (e.g. the process starting the workers exited)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = alive_nodes()
        if alive >= nodes:
            return None
        why = gone()
        if why:
            return f"{why} with {alive} of {nodes} nodes up"
        if time.monotonic() >= deadline:
            return f"only {alive} of {nodes} Ray nodes joined within {timeout:g} s"
        time.sleep(interval)
