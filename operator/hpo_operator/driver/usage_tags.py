"""Ray's usage tag for a run's callbacks, counted without importing every tracker's package.

``Tuner.fit()`` tags which callbacks a run passes (Ray's usage statistics) whenever it passes any.
To count them by class name, Ray 2.60's ``ray.air._internal.usage._count_callbacks`` imports the
W&B, MLflow, Comet and Aim integrations, and with them ``wandb`` and ``mlflow``: about 2 s of
every campaign's start on a 2-core machine, some 50 MB and 90,000 objects that every later full
garbage collection scans again, in a driver that tracks neither. A callback of one of those
classes has its module imported already, so the class names suffice: :func:`count_callbacks`
gives Ray's counts (``tests/core/test_usage_tags.py`` compares them) and imports nothing.
Imports Ray: the driver imports this module only once a run starts.
"""

from __future__ import annotations

import collections
from typing import Any

from ray.air._internal import usage
from ray.tune import Callback
from ray.tune.logger import LoggerCallback
from ray.tune.utils.callback import DEFAULT_CALLBACK_CLASSES

# The built-in callbacks Ray counts by name, besides Tune's default loggers.
_INTEGRATIONS = ("WandbLoggerCallback", "MLflowLoggerCallback", "CometLoggerCallback",
                 "AimLoggerCallback")
_BUILT_IN = frozenset(_INTEGRATIONS + tuple(cls.__name__ for cls in DEFAULT_CALLBACK_CLASSES))


def count_callbacks(callbacks: list[Any] | None) -> dict[str, int]:
    """Callback class name -> count, as Ray counts them for its usage tag."""
    counts: dict[str, int] = collections.defaultdict(int)
    for callback in callbacks or []:
        if not isinstance(callback, Callback):
            continue  # Tune rejects it later; Ray does not count it
        name = type(callback).__name__
        if name in _BUILT_IN:
            counts[name] += 1
        elif isinstance(callback, LoggerCallback):
            counts["CustomLoggerCallback"] += 1
        else:
            counts["CustomCallback"] += 1
    return counts


def count_without_imports() -> None:
    """Make Ray's callback usage tag use :func:`count_callbacks` in this process."""
    if getattr(usage, "_count_callbacks", None) is not None:
        usage._count_callbacks = count_callbacks
