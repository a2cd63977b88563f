"""The budget in resource-hours (``spec.budget.gpuHours``/``cpuHours``): when it is spent, and
which trials may still run. Pure: no Ray; driver/budget.py asks it from Tune's stopper and
search algorithm.

Before each result is counted (:mod:`.usage`), :meth:`BudgetKeeper.check` asks whether that
result spends the budget. From then on no trial starts, and with ``onExhausted: finishRung`` each
trial running at that moment goes on to its next milestone (:mod:`.milestones`) and stops there;
a trial Tune had already queued that starts afterwards stops at its first result. Once none is
left on its way to a milestone (at once with ``stopNow``), :meth:`stop_all` ends the campaign:
Tune stops what is paused or waiting. So the budget is overrun by the running trials' last rung
at most (and one iteration of a late starter).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .milestones import Milestones, milestones
from .spec import Budget, CampaignSpec
from .tune_names import RESULT_DUPLICATE, RUNNING
from .usage import UsageLedger, result_seconds


class TrialLike(Protocol):
    trial_id: str
    status: str


class BudgetKeeper:
    def __init__(self, budget: Budget, ledger: UsageLedger, marks: Milestones,
                 on_spent: Callable[[str], None] | None = None) -> None:
        self.budget, self.ledger, self.marks = budget, ledger, marks
        self.on_spent = on_spent
        self.spent: str | None = None  # what was spent, once it is
        self._live: dict[str, TrialLike] = {}  # started and not ended
        self._progress: dict[str, float] = {}  # in the milestones' result key
        self._owed: dict[str, float] = {}  # running trial -> the milestone it may reach

    @classmethod
    def for_spec(cls, spec: CampaignSpec, ledger: UsageLedger,
                 on_spent: Callable[[str], None] | None = None) -> BudgetKeeper:
        return cls(spec.budget, ledger, milestones(spec), on_spent)

    @property
    def active(self) -> bool:
        return self.budget.hours_limited

    @property
    def exhausted(self) -> bool:
        return self.spent is not None

    # -- trials -------------------------------------------------------------------------------
    def trial_started(self, trial: TrialLike) -> None:
        self._live[trial.trial_id] = trial

    def trial_ended(self, trial_id: str) -> None:
        self._live.pop(trial_id, None)
        self._owed.pop(trial_id, None)

    def running(self) -> set[str]:
        return {tid for tid, trial in self._live.items() if trial.status == RUNNING}

    # -- decisions ----------------------------------------------------------------------------
    def check(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Whether the trial stops at this result (which the ledger has not counted yet)."""
        if not self.active or result.get(RESULT_DUPLICATE):
            return False  # a duplicate is never counted: it cannot spend the budget
        before = self._progress.get(trial_id, 0.0)
        now = _number(result.get(self.marks.attr))
        if not self.exhausted:
            spent = self.ledger.spent(self.budget, result_seconds(result))
            if spent is not None:
                self._exhaust(spent, {trial_id: before})
        if now is not None:
            self._progress[trial_id] = now
        if not self.exhausted:
            return False
        if self.budget.on_exhausted == "stopNow" or trial_id not in self._owed:
            return True
        if now is None or now >= self._owed[trial_id]:
            del self._owed[trial_id]
            return True
        return False

    def stop_all(self) -> bool:
        """Whether the campaign ends now: spent, and no running trial owed its milestone."""
        if not self.active:
            return False
        if not self.exhausted:
            spent = self.ledger.spent(self.budget)  # a resumed campaign spent before
            if spent is None:
                return False
            self._exhaust(spent, {})
        if self.budget.on_exhausted == "stopNow":
            return True
        running = self.running()
        self._owed = {tid: mark for tid, mark in self._owed.items() if tid in running}
        return not self._owed

    def _exhaust(self, spent: str, crossing: dict[str, float]) -> None:
        progress = {tid: self._progress.get(tid, 0.0) for tid in self.running()} | crossing
        self._owed = {tid: self.marks.next_after(p) for tid, p in progress.items()}
        self.spent = spent
        if self.on_spent is not None:
            self.on_spent(self.message())

    def message(self) -> str:
        if self.spent is None:
            return ""
        then = ("running trials stop now" if self.budget.on_exhausted == "stopNow"
                else "running trials stop at their next milestone")
        return f"budget spent ({self.spent}): no new trials; {then}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
