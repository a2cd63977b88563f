"""Analytic trainables with known optima, for the strategy tests (cheap: no data, no model).

``Bowl`` is a learning curve over four hyperparameters of every kind (log float, int, float,
choice): ``loss(t) = bowl(config) + 0.5 / t``, best at :data:`OPTIMUM` where ``bowl`` is 0. A
smooth single basin is where model-based search should beat random search.

``StepDecay`` is a PBT toy whose best learning-rate schedule is known by construction: each
iteration multiplies the loss by ``1 - RATE * closeness(lr, lr*(t))``, where ``lr*(t)`` follows
a MultiStepLR (:data:`LR0`, :data:`MILESTONES`, :data:`GAMMA`). No constant learning rate keeps
up, so PBT must discover the step-downs. The loss is a pure function of the learning-rate history,
so a test can recompute it from an extracted schedule (:func:`step_decay_loss`) and check that
exploits really carried the cloned trial's state over.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from ray import tune

OPTIMUM: dict[str, Any] = {"lr": 10 ** -2.5, "width": 37, "dropout": 0.2, "activation": "relu"}
ACTIVATION_PENALTY = {"relu": 0.0, "tanh": 0.3, "sigmoid": 0.6}

BOWL_SPACE: dict[str, Any] = {
    "lr": {"type": "float", "min": 1e-5, "max": 1.0, "log": True},
    "width": {"type": "int", "min": 1, "max": 128, "role": "model"},
    "dropout": {"type": "float", "min": 0.0, "max": 0.9},
    "activation": {"type": "choice", "values": ["relu", "tanh", "sigmoid"], "role": "model"},
}


def bowl(config: dict[str, Any]) -> float:
    """The final-loss floor of a configuration: 0 at OPTIMUM, a quadratic basin around it."""
    return (((math.log10(float(config["lr"])) + 2.5) / 1.5) ** 2
            + ((int(config["width"]) - 37) / 40) ** 2
            + ((float(config["dropout"]) - 0.2) / 0.5) ** 2
            + ACTIVATION_PENALTY[str(config["activation"])])


class Bowl(tune.Trainable):
    """The bowl as a learning curve; cheap checkpoints so HyperBand can pause and resume it."""

    def setup(self, config: dict[str, Any]) -> None:
        self.floor = bowl(config)

    def step(self) -> dict[str, Any]:
        return {"loss": self.floor + 0.5 / (self.iteration + 1)}

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.floor = bowl(new_config)
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"floor": self.floor}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.floor = checkpoint["floor"]


LR0, MILESTONES, GAMMA = 0.1, (6, 12), 0.1
ITERATIONS = 18
RATE, WIDTH_DECADES = 0.3, 0.5


def best_lr(iteration: int) -> float:
    """lr*(t) for 1-based iteration t: MultiStepLR, where epoch t-1 past a milestone decays."""
    return LR0 * GAMMA ** bisect.bisect_right(MILESTONES, iteration - 1)


def step_factor(lr: float, iteration: int) -> float:
    distance = math.log10(lr) - math.log10(best_lr(iteration))
    return 1.0 - RATE * math.exp(-distance ** 2 / (2 * WIDTH_DECADES ** 2))


def step_decay_loss(lrs: list[float]) -> float:
    """The loss after training with ``lrs[i]`` at iteration ``i + 1``, from a loss of 1."""
    loss = 1.0
    for i, lr in enumerate(lrs):
        loss *= step_factor(lr, i + 1)
    return loss


class StepDecay(tune.Trainable):
    """The PBT toy: its state (the loss) lives in the checkpoint an exploit copies."""

    def setup(self, config: dict[str, Any]) -> None:
        self.lr = float(config["lr"])
        self.loss = 1.0

    def step(self) -> dict[str, Any]:
        self.loss *= step_factor(self.lr, self.iteration + 1)
        return {"loss": self.loss, "lr": self.lr}

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.setup(new_config)
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"loss": self.loss}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.loss = checkpoint["loss"]
