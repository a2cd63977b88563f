"""The budget in resource-hours as Ray Tune sees it: a stopper and a search-algorithm wrapper.

:class:`BudgetStopper` asks the campaign's :class:`~..campaign.budget.BudgetKeeper` about every
result (whether that trial stops) and every step (whether the whole campaign does);
:class:`BudgetedSearch` stops suggesting trials once the budget is spent. Not being Tune's
random/grid generator, it also keeps Tune from creating all of that generator's trials up front
(a trial queued before the budget ran out would start afterwards): Tune then queues as many as
the concurrency cap allows, else one at a time as trials start. Tune pickles both with the experiment, and a restored one calls the
unpickled copies, so they hold no state of the run: like :mod:`.tune_callback`, they ask the
keeper registered in this process with :func:`keeping`. Imports Ray.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search import (
    BasicVariantGenerator,
    ConcurrencyLimiter,
    SearchAlgorithm,
    Searcher,
    SearchGenerator,
)
from ray.tune.stopper import Stopper

from ..campaign.budget import BudgetKeeper
from ..campaign.process_slot import ProcessSlot
from ..campaign.spec import CampaignSpec
from ..campaign.stoppers import ResultLimits

_keeper: ProcessSlot[BudgetKeeper] = ProcessSlot()
keeping = _keeper.holding  # the budget stoppers and searches of this process ask this keeper


class BudgetStopper(Stopper):
    """The budget's decisions, then those of the campaign's other stop criteria (both see every
    result: either may keep state)."""

    def __init__(self, inner: Stopper | None = None) -> None:
        self.inner = inner

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        spent = (keeper := _keeper.current) is not None and keeper.check(trial_id, result)
        other = self.inner is not None and self.inner(trial_id, result)
        return bool(spent or other)

    def stop_all(self) -> bool:
        spent = (keeper := _keeper.current) is not None and keeper.stop_all()
        return bool(spent or (self.inner is not None and self.inner.stop_all()))


class BudgetedSearch(SearchAlgorithm):
    """Tune's search algorithm, which suggests nothing more once the budget is spent."""

    def __init__(self, inner: SearchAlgorithm) -> None:
        super().__init__()
        self._inner = inner

    @property
    def searcher(self) -> Any:
        """The Searcher inside (BOHB's HyperBand tells it of pauses), None for Tune's generator."""
        return getattr(self._inner, "searcher", None)

    @property
    def metric(self) -> Any:
        return self._inner.metric

    @property
    def total_samples(self) -> int:
        return self._inner.total_samples

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        return self._inner.set_search_properties(metric, mode, config, **spec)

    def add_configurations(self, experiments: Any) -> None:
        self._inner.add_configurations(experiments)

    def next_trial(self) -> Any:
        if (keeper := _keeper.current) is not None and keeper.exhausted:
            return None
        return self._inner.next_trial()

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self._inner.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self._inner.on_trial_complete(trial_id, result=result, error=error)

    def is_finished(self) -> bool:
        keeper = _keeper.current
        return self._inner.is_finished() or (keeper is not None and keeper.exhausted)

    def set_finished(self) -> None:
        self._inner.set_finished()

    def has_checkpoint(self, dirpath: str) -> bool:
        return self._inner.has_checkpoint(dirpath)

    def save_to_dir(self, dirpath: str, **kwargs: Any) -> None:
        self._inner.save_to_dir(dirpath, **kwargs)

    def restore_from_dir(self, dirpath: str) -> None:
        self._inner.restore_from_dir(dirpath)


def budgeted_search(searcher: Any, spec: CampaignSpec) -> BudgetedSearch:
    """The campaign's searcher (None: Tune's own random/grid generator) as Tune would wrap it,
    inside a :class:`BudgetedSearch`: the concurrency cap is applied here, as Tune applies it."""
    cap = spec.budget.max_concurrent_trials
    if searcher is None:
        searcher = BasicVariantGenerator(max_concurrent=cap or 0)
    elif isinstance(searcher, Searcher):
        searcher = SearchGenerator(ConcurrencyLimiter(searcher, cap) if cap else searcher)
    return BudgetedSearch(searcher)


def budget_stopper(stop: Any) -> BudgetStopper:
    """The budget before RunConfig's ``stop`` (None, a dict of limits or a Stopper)."""
    if isinstance(stop, dict):
        stop = ResultLimits(stop) if stop else None
    return BudgetStopper(stop)
