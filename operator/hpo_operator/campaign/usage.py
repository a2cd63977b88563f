"""What a campaign spends, in resource-hours: each trial's requested resources times its running
time. Pure: no Ray, no clock (the times are the trials' own).

A trial's running time is the sum of the ``time_this_iter_s`` of its results: what Tune measured
for each training iteration (or what the trainable reported as its own), the first iteration's
set-up included in a function trainable. An iteration in progress counts once it reports. Every
trial requests ``resources.perTrial``, so ``cpuHours`` is perTrial.cpu times the trials' seconds
over 3600, and ``gpuHours`` the same with perTrial.gpu. A trial restarted (a resume, a PBT exploit,
a HyperBand pause) keeps counting what it runs again: that was spent too.

``savedGpuHours``/``savedCpuHours`` are the guide's case for early stopping in the user's
currency: for each trial the scheduler stopped early, what it would have cost to go on to the
scheduler's horizon at its own pace so far, i.e. its mean time per unit of progress times the
progress it had left: ``seconds / progress * (horizon - progress)``. The horizon is ``maxT`` in
the scheduler's ``timeAttr``, or ``budget.maxIterationsPerTrial`` for median stopping; without
one nothing is estimated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .spec import AshaScheduler, Budget, CampaignSpec, HyperBandScheduler, MedianStoppingScheduler
from .status import Usage
from .tune_names import TRAINING_ITERATION

BUDGET_EXHAUSTED = "BudgetExhausted"  # the condition set once a budget is spent
TIME_THIS_ITER_S = "time_this_iter_s"
SECONDS_PER_HOUR = 3600.0
_DIGITS = 9  # significant, of the hours in the status: far finer than any budget


def result_seconds(result: Mapping[str, Any]) -> float:
    """The running time one result accounts for (0 when it says none)."""
    value = result.get(TIME_THIS_ITER_S)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return max(float(value), 0.0)


def horizon(spec: CampaignSpec) -> tuple[str, float] | None:
    """Where a trial the scheduler stopped would have ended: (result key, value), or None."""
    s, cap = spec.strategy.scheduler, spec.budget.max_iterations_per_trial
    if isinstance(s, (AshaScheduler, HyperBandScheduler)):
        return s.time_attr, float(s.max_t)  # within the iteration cap (scheduler_rules)
    if isinstance(s, MedianStoppingScheduler) and cap is not None:
        return TRAINING_ITERATION, float(cap)
    return None


@dataclass
class _TrialUse:
    seconds: float = 0.0
    progress: float = 0.0  # in the horizon's result key, as last reported
    stopped_early: bool = False


class UsageLedger:
    """Folds trial starts and results into the campaign's :class:`Usage`."""

    def __init__(self, cpu: float, gpu: float, horizon: tuple[str, float] | None = None) -> None:
        self.cpu, self.gpu, self.horizon = cpu, gpu, horizon
        self.seconds = 0.0  # every trial's, together
        self._saved = 0.0  # saved_seconds, kept up to date as results come
        self._trials: dict[str, _TrialUse] = {}
        self._started: set[str] = set()

    @classmethod
    def for_spec(cls, spec: CampaignSpec) -> UsageLedger:
        per_trial = spec.resources.per_trial.total()  # all of a trial's bundles
        return cls(per_trial.get("CPU", 0.0), per_trial.get("GPU", 0.0), horizon(spec))

    # -- events -------------------------------------------------------------------------------
    def started(self, trial_id: str) -> None:
        self._started.add(trial_id)

    def result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        self._started.add(trial_id)  # a result replayed on resume is a trial that ran
        record = self._trials.setdefault(trial_id, _TrialUse())
        before = self._saved_by(record)  # Tune tells the stop before the result that caused it
        seconds = result_seconds(result)
        record.seconds += seconds
        self.seconds += seconds
        if self.horizon is not None:
            value = result.get(self.horizon[0])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                record.progress = max(record.progress, float(value))
        self._saved += self._saved_by(record) - before

    def stopped_early(self, trial_id: str) -> None:
        record = self._trials.setdefault(trial_id, _TrialUse())
        if not record.stopped_early:
            record.stopped_early = True
            self._saved += self._saved_by(record)

    # -- queries ------------------------------------------------------------------------------
    def hours(self, extra_seconds: float = 0.0) -> tuple[float, float]:
        """(cpuHours, gpuHours) spent, with ``extra_seconds`` of one more trial's running."""
        hours = (self.seconds + extra_seconds) / SECONDS_PER_HOUR
        return self.cpu * hours, self.gpu * hours

    def spent(self, budget: Budget, extra_seconds: float = 0.0) -> str | None:
        """The budget that is spent (``gpuHours`` or ``cpuHours``, with the figures), or None."""
        cpu, gpu = self.hours(extra_seconds)
        if budget.gpu_hours is not None and gpu >= budget.gpu_hours:
            return f"gpuHours: {gpu:.6g} of {budget.gpu_hours:g} spent"
        if budget.cpu_hours is not None and cpu >= budget.cpu_hours:
            return f"cpuHours: {cpu:.6g} of {budget.cpu_hours:g} spent"
        return None

    def saved_seconds(self) -> float:
        """Trial-seconds the scheduler's early stops saved (see the module's docstring)."""
        return self._saved

    def _saved_by(self, r: _TrialUse) -> float:
        if self.horizon is None or not r.stopped_early or not 0 < r.progress < self.horizon[1]:
            return 0.0
        return r.seconds / r.progress * (self.horizon[1] - r.progress)

    def usage(self) -> Usage:
        cpu, gpu = self.hours()
        saved = self.saved_seconds() / SECONDS_PER_HOUR
        return Usage(cpu_hours=_shown(cpu), gpu_hours=_shown(gpu),
                     trials_started=len(self._started), saved_cpu_hours=_shown(self.cpu * saved),
                     saved_gpu_hours=_shown(self.gpu * saved))


def _shown(hours: float) -> float:
    return float(f"{hours:.{_DIGITS}g}")
