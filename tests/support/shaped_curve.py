"""A learning curve whose every way of ending is set by its config, for the status-count tests.

``loss(x, t) = (x - 0.3)^2 + 1 / min(t, flat_after)``, with ``samples = 10 t`` reported as a
progress key other than the iteration. Config (0 = never): ``end_at`` reports ``done`` at that
iteration (the trial ends by itself), ``flat_after`` makes the curve flat from there (a plateau),
``fail_at`` raises at that iteration, ``step_seconds`` slows each step down.
"""

from __future__ import annotations

import time
from typing import Any

from ray import tune


class ShapedCurve(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.x = float(config["x"])
        self.end_at = int(config.get("end_at", 0))
        self.flat_after = int(config.get("flat_after", 0))
        self.fail_at = int(config.get("fail_at", 0))
        self.step_seconds = float(config.get("step_seconds", 0))
        self.t = 0

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.setup(new_config)
        return True

    def step(self) -> dict[str, Any]:
        if self.step_seconds:
            time.sleep(self.step_seconds)
        self.t += 1
        if self.fail_at and self.t >= self.fail_at:
            raise ValueError(f"x={self.x} fails at iteration {self.t}")
        t = min(self.t, self.flat_after) if self.flat_after else self.t
        result = {"loss": (self.x - 0.3) ** 2 + 1.0 / t, "samples": 10 * self.t}
        if self.end_at and self.t >= self.end_at:
            result["done"] = True
        return result

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"t": self.t}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.t = checkpoint["t"]
