"""Trainables that stop in the middle of a trial, for the preemption and stall tests.

Each takes its working directory from its config's ``workdir`` (spec.trainable.config), leaves
marker files there that a test polls for, and waits on a file that the test creates: no timing
decides what happens.

- :func:`waits_at_third_iteration`: checkpoints every iteration; at iteration 3 it writes
  ``waiting-<pid>`` and waits for ``go``; every start writes ``ran-<pid>-from-<t>``, the
  iteration of the checkpoint it resumed from.
- :func:`hangs_at_third_iteration`: iterations of 0.1 s, then iteration 3 never ends until
  ``go`` exists (a stalled trial); ``hanging-<trial id>`` says it is there.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ray import tune

ITERATIONS = 5


def _workdir(config: dict[str, Any]) -> Path:
    return Path(config["workdir"])


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.05)


def _resumed_from() -> int:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as folder:
        return int(json.loads((Path(folder) / "state.json").read_text())["t"])


def waits_at_third_iteration(config: dict[str, Any]) -> None:
    work, start = _workdir(config), _resumed_from()
    (work / f"ran-{os.getpid()}-from-{start}").write_text("")
    for t in range(start + 1, ITERATIONS + 1):
        if t == 3:
            (work / f"waiting-{os.getpid()}").write_text("")
            _wait_for(work / "go")
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "state.json").write_text(json.dumps({"t": t}))
            tune.report({"loss": 1.0 / t, "resumed_from": start},
                        checkpoint=tune.Checkpoint.from_directory(folder))


def hangs_at_third_iteration(config: dict[str, Any]) -> None:
    work = _workdir(config)
    for t in range(1, ITERATIONS + 1):
        if t == 3:
            (work / f"hanging-{tune.get_context().get_trial_id()}").write_text("")
            _wait_for(work / "go")
        else:
            time.sleep(0.1)
        tune.report({"loss": float(config["x"]) + 1.0 / t})
