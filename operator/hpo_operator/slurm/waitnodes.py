"""Wait until a Ray cluster has N alive nodes: ``python -m hpo_operator.slurm.waitnodes``.

The batch script starts the workers with one ``srun`` and must not start the driver before they
have joined (Tune would size the campaign to the head alone), nor wait forever if a worker never
comes: this polls ``ray.nodes()`` until enough are alive, the worker step or the head exits, or
the timeout.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..campaign.nodes import wait_for_nodes


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def wait_for_workers(address: str, nodes: int, timeout: float, watch: list[int],
                     interval: float = 1.0, head: int | None = None) -> str | None:
    """None once ``nodes`` are alive; otherwise why not (a message for the status)."""
    deadline = time.monotonic() + timeout

    def head_gone() -> str | None:
        return "the Ray head exited" if head is not None and not process_alive(head) else None

    def gone() -> str | None:
        dead = any(not process_alive(pid) for pid in watch)
        return head_gone() or ("the Ray worker step exited" if dead else None)

    # Only the head keeps this from connecting; once connected, the nodes that are up are told.
    problem = connect(address, deadline, interval, head_gone) or wait_for_nodes(
        nodes, max(0.0, deadline - time.monotonic()), gone=gone, interval=interval)
    return problem and f"{problem} (see ray-workers-JOBID.log in the run directory)"


def connect(address: str, deadline: float, interval: float,
            gone: Callable[[], str | None]) -> str | None:
    """``ray.init`` to the head, tried again until ``deadline`` or until ``gone`` says why not:
    the head answers its health check before its own raylet has registered, and on a loaded
    node a first driver that looks for that raylet then gives up with ConnectionError."""
    import ray

    while not ray.is_initialized():
        why = gone()
        if why:
            return why
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except ConnectionError:
            ray.shutdown()
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpo_operator.slurm.waitnodes",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="HEAD_IP:PORT")
    parser.add_argument("--nodes", type=int, required=True, help="alive nodes to wait for")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds (default 180)")
    parser.add_argument("--watch", type=int, action="append", default=[], metavar="PID",
                        help="fail early when this process (the worker srun) exits")
    parser.add_argument("--head", type=int, metavar="PID",
                        help="fail early when this process (the head's srun) exits")
    parser.add_argument("--error-file", type=Path, help="also write the failure reason here")
    args = parser.parse_args(argv)
    # ray.init and ray.nodes block in C++ when the head stops answering; a watchdog thread bounds
    # the whole wait whatever the main thread is stuck in.
    watchdog = threading.Timer(args.timeout + 60, _give_up, (args.address, args.error_file))
    watchdog.daemon = True
    watchdog.start()
    try:
        problem = wait_for_workers(args.address, args.nodes, args.timeout, args.watch,
                                   head=args.head)
    except Exception as exc:  # a head that went away mid-wait: report it, not a traceback
        problem = f"cannot reach the Ray head at {args.address}: {type(exc).__name__}: {exc}"
    if problem is None:
        print(f"waitnodes: {args.nodes} Ray nodes alive at {args.address}", file=sys.stderr)
        return 0
    print(f"waitnodes: {problem}", file=sys.stderr)
    if args.error_file:
        args.error_file.write_text(problem + "\n")
    return 1


def _give_up(address: str, error_file: Path | None) -> None:
    problem = f"the Ray head at {address} stopped answering while waiting for the workers"
    print(f"waitnodes: {problem}", file=sys.stderr, flush=True)
    if error_file:
        error_file.write_text(problem + "\n")
    os._exit(1)


if __name__ == "__main__":
    raise SystemExit(main())
