"""Trainables for the control-plane benchmarks: the work per trial is negligible or fixed,
so wall time measures what the campaign machinery costs."""

from __future__ import annotations

import os
import time
from typing import Any

from ray import tune


class Trivial(tune.Trainable):
    """One cheap step per iteration; ``checkpoint_mb`` of state makes checkpoints cost something."""

    def setup(self, config: dict[str, Any]) -> None:
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
