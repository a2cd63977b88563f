"""Search algorithms of our own for Ray Tune, beyond the ones Ray ships.

``DragonflySearcher`` (Bayesian optimisation over mixed int/float/discrete spaces with
dragonfly-opt, which Ray Tune dropped in 2.9) lives in :mod:`.dragonfly`. Nothing here imports
Ray or Dragonfly at package import time, so the campaign core stays light.
"""

from __future__ import annotations

__all__ = ["DragonflySearcher"]


def __getattr__(name: str) -> object:
    if name == "DragonflySearcher":
        from .dragonfly import DragonflySearcher

        return DragonflySearcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
