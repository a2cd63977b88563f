"""Nevergrad through Ray Tune, seeded.

Ray's NevergradSearch has no seed: Nevergrad draws from the parametrization's random state, which
it seeds from NumPy's global one. Ours gives the parametrization its own seeded state once Tune
has converted the search space, before the optimiser draws anything. Imported only when a
campaign asks for Nevergrad (it imports Ray and Nevergrad).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.tune.search.nevergrad import NevergradSearch

from .scheduler_rules import total_trials
from .spec import CampaignSpec, NevergradSearcher


class SeededNevergradSearch(NevergradSearch):
    def __init__(self, *args: Any, seed: int | None = None, **kwargs: Any) -> None:
        self._seed = seed
        super().__init__(*args, **kwargs)

    def _setup_nevergrad(self) -> None:
        if self._seed is not None and self._space is not None:
            self._space.random_state = np.random.RandomState(self._seed)
        super()._setup_nevergrad()


def seeded_nevergrad(spec: CampaignSpec, s: NevergradSearcher,
                     points: list[dict[str, Any]] | None) -> Any:
    import nevergrad as ng

    # NGOpt picks its algorithm from the budget and the parallelism, so it is told both.
    kwargs = {"budget": total_trials(spec), "num_workers": spec.budget.max_concurrent_trials or 1}
    return SeededNevergradSearch(optimizer=getattr(ng.optimizers, s.optimizer),
                                 optimizer_kwargs=kwargs, points_to_evaluate=points,
                                 seed=s.seed)
