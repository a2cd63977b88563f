"""Search algorithms of our own for Ray Tune, beyond the ones Ray ships.

``DragonflySearcher`` (Bayesian optimisation over mixed int/float/discrete spaces with
dragonfly-opt, which Ray Tune dropped in 2.9) lives in :mod:`.dragonfly`. Importing this package
registers each searcher with :mod:`hpo_operator.campaign.registry`, so that
:func:`~hpo_operator.campaign.strategies.make_searcher` finds it by its spec type; whoever builds a
Tuner imports this package once. Nothing here imports Ray or Dragonfly at package import time: the
factories import them when a searcher is built.
"""

from __future__ import annotations

from typing import Any

from ..campaign.registry import register_searcher
from ..campaign.spec import CampaignSpec

__all__ = ["DragonflySearcher"]


def _dragonfly(spec: CampaignSpec, points: list[dict[str, Any]] | None) -> Any:
    from .dragonfly import DragonflySearcher

    return DragonflySearcher(dict(spec.search_space), metric=spec.objective.metric,
                             mode=spec.objective.mode, seed=spec.strategy.searcher.seed,
                             points_to_evaluate=points)


register_searcher("dragonfly", _dragonfly)


def __getattr__(name: str) -> object:
    if name == "DragonflySearcher":
        from .dragonfly import DragonflySearcher

        return DragonflySearcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
