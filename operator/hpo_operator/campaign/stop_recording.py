"""Ray Tune's early-stopping schedulers, noting each trial they cut as unpromising.

Each subclass decides exactly as Ray Tune's class does; it only tells :mod:`.early_stops` which
trials it stopped early, so that the status tells them from trials that ended by themselves or at
a limit. A STOP at maxT (``stopLastTrials``) is a limit, not an early stop. ASHA and median
stopping decide in ``on_trial_result``; synchronous HyperBand stops the losers of each halving,
paused ones included, so its brackets note them as they halve. Imports Ray: imported only when
such a scheduler is built.
"""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    HyperBandForBOHB,
    HyperBandScheduler,
    MedianStoppingRule,
    TrialScheduler,
)
from ray.tune.schedulers.hyperband import _Bracket

from . import early_stops
from .next_trial import SkipsEndedTrials


class _NotesStops:
    """Mixin over ``on_trial_result``: a STOP that is not at a limit is an early stop."""

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        decision = super().on_trial_result(tune_controller, trial, result)  # type: ignore[misc]
        if decision == TrialScheduler.STOP and not self._at_limit(result):
            early_stops.record(trial.local_experiment_path, trial.trial_id)
        return decision

    def _at_limit(self, result: dict) -> bool:
        return False


class StopRecordingASHA(_NotesStops, SkipsEndedTrials, AsyncHyperBandScheduler):
    """Ray Tune's AsyncHyperBandScheduler (ASHA), noting its early stops (and choosing the next
    trial as it does, in constant time: see .next_trial)."""

    def _at_limit(self, result: dict) -> bool:
        # Ray's own first test: a trial at maxT stops whatever its rung says.
        return self._stop_last_trials and result.get(self._time_attr, 0) >= self._max_t


class StopRecordingMedian(_NotesStops, SkipsEndedTrials, MedianStoppingRule):
    """Ray Tune's MedianStoppingRule, noting its early stops (hardStop: false pauses instead;
    the next trial chosen as in .next_trial)."""


class _HalvingBracket(_Bracket):
    """A HyperBand bracket that notes the trials each halving drops."""

    def successive_halving(self, metric: str, metric_op: float) -> tuple[list, list]:
        good, bad = super().successive_halving(metric, metric_op)
        for trial in bad:
            early_stops.record(trial.local_experiment_path, trial.trial_id)
        return good, bad


class _NotesHalvings:
    """Mixin over ``_create_bracket``: every bracket notes its halvings."""

    def _create_bracket(self, s: int) -> Any:
        bracket = super()._create_bracket(s)  # type: ignore[misc]
        bracket.__class__ = _HalvingBracket
        return bracket


class StopRecordingHyperBand(_NotesHalvings, HyperBandScheduler):
    """Ray Tune's HyperBandScheduler, noting the trials its halvings stop."""


class StopRecordingBOHB(_NotesHalvings, HyperBandForBOHB):
    """Ray Tune's HyperBandForBOHB, noting the trials its halvings stop."""


SCHEDULERS: dict[str, type] = {
    "asha": StopRecordingASHA, "async_hyperband": StopRecordingASHA,
    "hyperband": StopRecordingHyperBand, "bohb": StopRecordingBOHB,
    "median": StopRecordingMedian,
}
