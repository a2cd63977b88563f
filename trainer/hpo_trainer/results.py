"""What a training step reports, and what it reports when training diverged.

A diverged configuration (a loss or an error that is not finite, or larger than any real one)
reports :data:`DIVERGED_VALUE` for each error and loss, ``diverged: True`` and Tune's
``done: True``, so that the trial ends there instead of training on NaN weights. The value is
finite because the campaign status is JSON, which holds no ``inf`` or NaN; schedulers and the
status then rank the trial last, and the time-to-solution analysis leaves diverged results out.
"""

from __future__ import annotations

import math
from typing import Any

# eV: adsorption energies are a few eV, so no real mean absolute error comes near this.
DIVERGED_VALUE = 1.0e6
ERRORS = {"val_mae": "mae", "val_rmse": "rmse", "val_loss": "loss"}


def diverged(train_loss: float, metrics: dict[str, float]) -> bool:
    """Whether a step's loss or validation errors are not finite or reach the sentinel."""
    values = [train_loss, *(metrics[k] for k in ERRORS.values())]
    return not all(math.isfinite(v) and abs(v) < DIVERGED_VALUE for v in values)


def step_result(train_loss: float, metrics: dict[str, float],
                extra: dict[str, Any]) -> dict[str, Any]:
    """The result of one step: the errors (or the sentinel), ``diverged``, and ``extra``."""
    failed = diverged(train_loss, metrics)
    result: dict[str, Any] = {key: DIVERGED_VALUE if failed else metrics[name]
                              for key, name in ERRORS.items()}
    result["train_loss"] = DIVERGED_VALUE if failed else train_loss
    result["diverged"] = failed
    if failed:
        result["done"] = True  # Tune ends the trial with this result
    return {**result, **extra}
