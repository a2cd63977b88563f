"""Every toy trainable of the tests: cheap (no data, no model) and with known behaviour.

A campaign names one by its package-qualified entrypoint, ``tests.support.trainables:Curve``:
Ray workers and ``hpo`` subprocesses import it because tests/conftest.py puts the repository
root on ``PYTHONPATH``.

- :class:`Curve`, :class:`CurveNoReset`, :func:`curve_function`, :class:`SlowCurve`: one analytic
  learning curve, ``loss(x, t) = (x - 0.3)^2 + 1/t``, best at x = 0.3, in the shapes the driver
  must handle; :func:`fails_when_large` and :func:`wrong_metric` are its broken variants;
  :class:`MeteredCurve` reports a fixed running time per iteration (the budget tests).
- :class:`Quadratic`: a slower curve that journals when trials start and finish (end-to-end).
- :class:`LrWidthCurve`: a curve over ``lr`` and ``width`` (the Slurm campaigns).
- :class:`Bowl` and :class:`StepDecay`: the strategy tests' toys with known optima.
- :func:`mixed_bowl_objective`: a one-result bowl over int, log-float and choice parameters.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from ray import tune

# -- the analytic curve ----------------------------------------------------------------------


class Curve(tune.Trainable):
    """``loss = (x - 0.3)^2 + 1/t`` at iteration t, and the actor's ``pid`` with every result.

    A class trainable with reset_config (so Tune reuses its actors, which the pids show) and cheap
    checkpoints of ``t`` (so schedulers can pause, resume and clone it)."""

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


class SlowCurve(Curve):
    """The same curve at 0.2 s per iteration, for tests that interrupt a running campaign."""

    def step(self) -> dict[str, Any]:
        time.sleep(0.2)
        return super().step()


def curve_function(config: dict[str, Any]) -> None:
    """The same curve as a function trainable (up to 999 iterations: the campaign stops it)."""
    for t in range(1, 1000):
        tune.report({"loss": (float(config["x"]) - 0.3) ** 2 + 1.0 / t})


def fails_when_large(config: dict[str, Any]) -> None:
    """The curve, but raises for x > 0.5 before reporting anything: a trial error the campaign
    must survive and report ("x=... is too large for this toy")."""
    for t in range(1, 1000):
        if config["x"] > 0.5:
            raise ValueError(f"x={config['x']:.3f} is too large for this toy")
        tune.report({"loss": (float(config["x"]) - 0.3) ** 2 + 1.0 / t})


def wrong_metric(config: dict[str, Any]) -> None:
    """Reports three results with ``accuracy`` only: never the objective metric ``loss``."""
    for t in range(1, 4):
        tune.report({"accuracy": t})


# -- the end-to-end toy ------------------------------------------------------------------------


class Quadratic(tune.Trainable):
    """``loss = (x - 0.3)^2 + 1/(10 t)`` after sleeping ``config["step_seconds"]`` (0.1 s) per
    iteration, for ``config["iterations"]`` (3) iterations, with checkpoints of ``t`` on disk.

    It keeps a journal (``config["journal"]``, a file path, optional): one ``start TRIAL`` line
    when a trial's actor starts (or is reused for it) and one ``done TRIAL`` line when it reaches
    its last iteration, so a test can tell which trials ran twice (a resumed experiment must not
    re-run finished trials)."""

    def setup(self, config: dict[str, Any]) -> None:
        self.x = float(config["x"])
        self.step_seconds = float(config.get("step_seconds", 0.1))
        self.iterations = int(config.get("iterations", 3))
        self.journal = config.get("journal")
        self.t = 0
        self._note("start")

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Actor reuse: the next trial starts in this process (``start`` is still journaled)."""
        self.setup(new_config)
        return True

    def step(self) -> dict[str, Any]:
        time.sleep(self.step_seconds)
        self.t += 1
        loss = (self.x - 0.3) ** 2 + 1.0 / (10 * self.t)
        if self.t >= self.iterations:
            self._note("done")
        return {"loss": loss}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        Path(checkpoint_dir, "state.json").write_text(json.dumps({"t": self.t}))
        return {}

    def load_checkpoint(self, checkpoint: Any) -> None:
        directory = checkpoint if isinstance(checkpoint, str) else checkpoint.path
        self.t = json.loads(Path(directory, "state.json").read_text())["t"]

    def _note(self, what: str) -> None:
        if self.journal:
            with open(self.journal, "a") as handle:
                handle.write(f"{what} {self.trial_id}\n")
                handle.flush()
                os.fsync(handle.fileno())


# -- the Slurm toy -----------------------------------------------------------------------------


class LrWidthCurve(tune.Trainable):
    """``loss = (lr - 0.03)^2 + 1 / (iteration * width)``: best near lr 0.03 and a wide width.

    Sleeps ``config["sleep"]`` seconds (0) per iteration, so a campaign can be kept running long
    enough to cancel; reset_config and cheap checkpoints as :class:`Curve`."""

    def setup(self, config: dict[str, Any]) -> None:
        self.x = 0

    def step(self) -> dict[str, Any]:
        time.sleep(self.config.get("sleep", 0.0))
        self.x += 1
        return {"loss": (self.config["lr"] - 0.03) ** 2 + 1.0 / (self.x * self.config["width"])}

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.config, self.x = new_config, 0
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        return {"x": self.x}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.x = checkpoint["x"]


# -- the strategy toys: Bowl and StepDecay -----------------------------------------------------
#
# ``Bowl`` is a learning curve over four hyperparameters of every kind (log float, int, float,
# choice): ``loss(t) = bowl(config) + 0.5 / t``, best at OPTIMUM where ``bowl`` is 0. A smooth
# single basin is where model-based search should beat random search.
#
# ``StepDecay`` is a PBT toy whose best learning-rate schedule is known by construction: each
# iteration multiplies the loss by ``1 - RATE * closeness(lr, lr*(t))``, where ``lr*(t)`` follows
# a MultiStepLR (LR0, MILESTONES, GAMMA). No constant learning rate keeps up, so PBT must
# discover the step-downs. The loss is a pure function of the learning-rate history, so a test
# can recompute it from an extracted schedule (step_decay_loss) and check that exploits really
# carried the cloned trial's state over.

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
    """``loss = bowl(config) + 0.5 / t`` over BOWL_SPACE; cheap checkpoints so HyperBand can
    pause and resume it, and reset_config for actor reuse."""

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
    """The PBT toy: ``loss *= step_factor(lr, t)`` each iteration, from 1, reporting ``loss`` and
    ``lr``; its state (the loss) lives in the checkpoint an exploit copies."""

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


# -- the Dragonfly toy -------------------------------------------------------------------------


def mixed_bowl(config: dict[str, Any]) -> float:
    """0 at depth 12, lr 10^-2.5, batch size 32, tanh; over an int (``depth``), a log float
    (``lr``), a numeric choice (``batch_size``) and a string choice (``activation``)."""
    return ((config["depth"] - 12) ** 2 / 100 + (math.log10(config["lr"]) + 2.5) ** 2
            + abs(math.log2(config["batch_size"]) - 5) + (config["activation"] != "tanh"))


def mixed_bowl_objective(config: dict[str, Any]) -> None:
    """A function trainable that reports ``loss = mixed_bowl(config)`` once."""
    tune.report({"loss": mixed_bowl(config)})


class ShapedCurve(tune.Trainable):
    """A learning curve whose every way of ending is set by its config, for the status-count tests.
    
    ``loss(x, t) = (x - 0.3)^2 + 1 / min(t, flat_after)``, with ``samples = 10 t`` reported as a
    progress key other than the iteration. Config (0 = never): ``end_at`` reports ``done`` at that
    iteration (the trial ends by itself), ``flat_after`` makes the curve flat from there (a plateau),
    ``fail_at`` raises at that iteration, ``step_seconds`` slows each step down.
    """

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


class MeteredCurve(Curve):
    """The analytic curve at ``config["step_seconds"]`` (0.05) per iteration, which it reports as
    its own ``time_this_iter_s`` (Tune keeps a trainable's own): its running time, and so what a
    campaign spends in resource-hours, is known exactly whatever the machine's load."""

    def step(self) -> dict[str, Any]:
        seconds = float(self.config.get("step_seconds", 0.05))
        time.sleep(seconds)
        return {**super().step(), "time_this_iter_s": seconds}
