"""Cheap trainables with known behaviour, for tests of the campaign machinery.

``Curve`` is an analytic learning curve: loss(x, t) = (x - 0.3)^2 + 1/t, best at x = 0.3.
"""

from __future__ import annotations

import os
from typing import Any

from ray import tune


class Curve(tune.Trainable):
    """A class trainable with reset_config and cheap checkpoints (so actor reuse and PBT work)."""

    def setup(self, config: dict[str, Any]) -> None:
        self.x = float(config["x"])
        self.t = 0
        self.pid = os.getpid()

    def step(self) -> dict[str, Any]:
        self.t += 1
        return {"loss": (self.x - 0.3) ** 2 + 1.0 / self.t, "pid": self.pid}

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.x = float(new_config["x"])
        self.t = 0
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"t": self.t}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.t = checkpoint["t"]


class CurveNoReset(Curve):
    """The same curve without reset_config: Tune must start a new actor per trial."""

    reset_config = tune.Trainable.reset_config  # type: ignore[assignment]


def curve_function(config: dict[str, Any]) -> None:
    """The same curve as a function trainable."""
    for t in range(1, 1000):
        tune.report({"loss": (float(config["x"]) - 0.3) ** 2 + 1.0 / t})


def fails_when_large(config: dict[str, Any]) -> None:
    """Raises for x > 0.5 before reporting: a trial error the campaign must survive and report."""
    for t in range(1, 1000):
        if config["x"] > 0.5:
            raise ValueError(f"x={config['x']:.3f} is too large for this toy")
        tune.report({"loss": (float(config["x"]) - 0.3) ** 2 + 1.0 / t})


def wrong_metric(config: dict[str, Any]) -> None:
    """Never reports the objective metric."""
    for t in range(1, 4):
        tune.report({"accuracy": t})


NOT_A_TRAINABLE = 42


class SlowCurve(Curve):
    """The curve at 0.2 s per iteration, for tests that interrupt a running campaign."""

    def step(self) -> dict[str, Any]:
        import time

        time.sleep(0.2)
        return super().step()
