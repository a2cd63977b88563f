"""Stalls, named: trials that wait too long to start, and running trials that went silent. Pure.

- ``TrialsPending``: a trial has waited (Tune's PENDING) longer than ``runtime.trialPendingSeconds``.
  Its message sets the demand (resources per trial, times the trials waiting) against what the
  cluster has, in all and free: the numbers that tell a cluster too small from one that is busy.
- ``TrialStalled``: a running trial has reported nothing for ``runtime.trialStallFactor`` times
  its usual iteration time (the median of its recent intervals between results), and for at least
  ``runtime.trialStallMinSeconds``. A trial needs two results since it (re)started to have a usual
  time: its first iteration includes its setup.

The driver feeds :class:`StallWatch` trial states and results with the time of each; the
conditions appear once they matter and turn False once the trials start or report again.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from .status import CampaignStatus
from .tune_names import PENDING, RUNNING

TRIALS_PENDING = "TrialsPending"
TRIAL_STALLED = "TrialStalled"
RECENT_INTERVALS = 8  # the usual iteration time follows the trial as it changes pace
MAX_TRIALS_NAMED = 3


@dataclass(frozen=True)
class StallLimits:
    pending_seconds: float = 300.0
    iteration_factor: float = 10.0
    min_seconds: float = 60.0


@dataclass
class _Timing:
    pending_since: float | None = None
    last_result: float | None = None  # since the trial last (re)started; None while not running
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_INTERVALS))


class StallWatch:
    """When each unfinished trial started waiting, and when it last reported."""

    def __init__(self, limits: StallLimits) -> None:
        self.limits = limits
        self._trials: dict[str, _Timing] = {}

    def observe(self, trial_id: str, state: str, now: float) -> None:
        """The trial's state as Tune has it now (read off the trials every few seconds)."""
        timing = self._trials.setdefault(trial_id, _Timing())
        if state == PENDING:
            if timing.pending_since is None:
                timing.pending_since = now
        else:
            timing.pending_since = None
        if state != RUNNING:
            timing.last_result = None  # a paused or queued trial is silent by design

    def started(self, trial_id: str, now: float) -> None:
        timing = self._trials.setdefault(trial_id, _Timing())
        timing.pending_since = timing.last_result = None

    def reported(self, trial_id: str, now: float) -> None:
        timing = self._trials.setdefault(trial_id, _Timing())
        timing.pending_since = None
        if timing.last_result is not None:
            timing.intervals.append(now - timing.last_result)
        timing.last_result = now

    def ended(self, trial_id: str) -> None:
        self._trials.pop(trial_id, None)

    def waiting(self, now: float) -> list[tuple[str, float]]:
        """Trials pending longer than the limit, with how long, longest first."""
        waits = [(tid, now - t.pending_since) for tid, t in self._trials.items()
                 if t.pending_since is not None]
        return sorted([w for w in waits if w[1] > self.limits.pending_seconds],
                      key=lambda w: -w[1])

    def silent(self, now: float) -> list[tuple[str, float, float]]:
        """Running trials silent past their limit: (trial, seconds silent, usual iteration
        seconds), longest first."""
        found = []
        for tid, t in self._trials.items():
            if t.last_result is None or not t.intervals:
                continue
            usual = statistics.median(t.intervals)
            quiet = now - t.last_result
            if quiet > max(self.limits.iteration_factor * usual, self.limits.min_seconds):
                found.append((tid, quiet, usual))
        return sorted(found, key=lambda s: -s[1])


def _resources(amounts: dict[str, float], names: list[str]) -> str:
    return ", ".join(f"{name} {amounts.get(name, 0.0):g}" for name in names)


def _named(ids: list[str]) -> str:
    more = len(ids) - MAX_TRIALS_NAMED
    return ", ".join(ids[:MAX_TRIALS_NAMED]) + (f" and {more} more" if more > 0 else "")


def pending_message(waiting: list[tuple[str, float]], per_trial: dict[str, float],
                    total: dict[str, float], free: dict[str, float], limit: float) -> str:
    """``per_trial``, ``total`` and ``free`` in Ray's resource names (CPU, GPU)."""
    n = len(waiting)
    wanted = sorted(name for name, value in per_trial.items() if value)  # Ray omits used-up ones
    demand = {name: value * n for name, value in per_trial.items()}
    return (f"{n} trial(s) waiting to start for longer than {limit:g} s (trial {waiting[0][0]} "
            f"for {waiting[0][1]:.0f} s): each needs {_resources(per_trial, wanted)}, {n} x = "
            f"{_resources(demand, wanted)}; the cluster has {_resources(total, wanted)} in all, "
            f"{_resources(free, wanted)} free")


def stalled_message(silent: list[tuple[str, float, float]], limits: StallLimits) -> str:
    tid, quiet, usual = silent[0]
    others = [s[0] for s in silent[1:]]
    also = f"; also silent: {_named(others)}" if others else ""
    return (f"trial {tid} has reported nothing for {quiet:.0f} s, {quiet / usual:.0f} times its "
            f"usual iteration time of {usual:.3g} s (limit: {limits.iteration_factor:g} times, "
            f"at least {limits.min_seconds:g} s): it may hang; see its log{also}")


def judge(status: CampaignStatus, type_: str, active: bool, reason: str, message: str,
          cleared_reason: str, cleared_message: str) -> None:
    """Set condition ``type_`` True with ``message`` while ``active``; once it no longer is, False.
    A condition that never was True does not appear."""
    current = status.condition(type_)
    if active:
        status.set_condition(type_, True, reason, message)
    elif current is not None and current.status == "True":
        status.set_condition(type_, False, cleared_reason, cleared_message)
