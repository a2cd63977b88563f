"""Trainables for the control-plane benchmarks: the work per trial is negligible or fixed,
so wall time measures what the campaign machinery costs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ray import tune

from hpo_cli import START_TOGETHER_ACTORS, START_TOGETHER_DIR


def start_together(timeout: float = 60.0) -> None:
    """Wait, once per actor process, until the run's other concurrent actors have started.

    Tune asks for every concurrent trial's actor at once, and actors start a second or two
    apart. When trials take milliseconds, the first actor can end a trial before the second has
    started: Tune gives the next trial that actor (reuse_actors) and withdraws the request it had
    made for it, and so on for every trial, each new request withdrawn before it is met. One actor
    then does the work of all, and the raylet starts and stops a worker per trial: 1.5-1.8x the
    wall time, by chance, on either side of a comparison. Starting together rules it out.
    """
    directory, actors = os.environ.get(START_TOGETHER_DIR), os.environ.get(START_TOGETHER_ACTORS)
    if not directory or not actors:
        return
    Path(directory, str(os.getpid())).touch()
    deadline = time.monotonic() + timeout
    while len(os.listdir(directory)) < int(actors) and time.monotonic() < deadline:
        time.sleep(0.005)


class Trivial(tune.Trainable):
    """One cheap step per iteration; ``checkpoint_mb`` of state makes checkpoints cost something."""

    def setup(self, config: dict[str, Any]) -> None:
        start_together()  # setup runs once per actor; a reused actor gets reset_config
        self._configure(config)

    def _configure(self, config: dict[str, Any]) -> None:
        self.x = float(config["x"])
        self.t = 0
        self.step_seconds = float(config.get("step_seconds", 0.0))
        self.state = os.urandom(int(float(config.get("checkpoint_mb", 0)) * 2**20))

    def step(self) -> dict[str, Any]:
        self.t += 1
        if self.step_seconds:
            time.sleep(self.step_seconds)
        return {"loss": (self.x - 0.5) ** 2 + 1.0 / self.t}

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self._configure(new_config)
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "state.bin"), "wb") as handle:
            handle.write(self.state)
        with open(os.path.join(checkpoint_dir, "t"), "w") as handle:
            handle.write(str(self.t))

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "t")) as handle:
            self.t = int(handle.read())


class TrivialNoReset(Trivial):
    """Without reset_config: Tune starts a fresh actor for every trial."""

    reset_config = tune.Trainable.reset_config  # type: ignore[assignment]
