"""Trainables in the two shapes of Ray Tune's own examples (ray/tune/examples), on constructed
problems whose best result is known, for the migration test.

- :func:`easy_objective`: the function API, as in ``async_hyperband_example.py``: a loop that
  calls ``tune.report`` once per step. Its loss is separable, ``1/(1+step)`` plus a penalty
  that depends on the config alone, so every rung ranks trials alike and ASHA never stops the
  trial that would end best.
- :class:`PBTBenchmarkExample`: the class API, as in ``pbt_example.py``: ``setup``, ``step``,
  ``save_checkpoint`` and ``load_checkpoint`` (files in the checkpoint directory), and
  ``reset_config``. Accuracy closes a fraction ``rate(lr)`` of the gap to 1 each step; the rate
  peaks (at 0.5) at lr = 0.01.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from ray import tune

ACTIVATION_PENALTY = {"relu": 0.0, "tanh": 0.05, "sigmoid": 0.2}
BEST_LR = 0.01


def evaluation_fn(step: int, lr: float, width: int, activation: str) -> float:
    penalty = (math.log10(lr) - math.log10(BEST_LR)) ** 2 / 4 + ((width - 48) / 64) ** 2
    return 1.0 / (1 + step) + penalty + ACTIVATION_PENALTY[activation]


def easy_objective(config: dict[str, Any]) -> None:
    for step in range(config["steps"]):
        loss = evaluation_fn(step, config["lr"], config["width"], config["activation"])
        tune.report({"iterations": step, "mean_loss": loss})


def rate(lr: float) -> float:
    return 0.5 * math.exp(-((math.log10(lr) - math.log10(BEST_LR)) ** 2))


class PBTBenchmarkExample(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.lr = config["lr"]
        self.accuracy = 0.0
        self.restored = 0

    def step(self) -> dict[str, Any]:
        self.accuracy += (1 - self.accuracy) * rate(self.lr)
        return {"mean_accuracy": self.accuracy, "cur_lr": self.lr, "restored": self.restored}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "state.json"), "w") as f:
            json.dump({"accuracy": self.accuracy, "restored": self.restored}, f)

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, "state.json")) as f:
            state = json.load(f)
        self.accuracy = state["accuracy"]
        self.restored = state["restored"] + 1

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        # A reused actor starts over as a new one would; an exploit's checkpoint loads after.
        self.setup(new_config)
        return True
