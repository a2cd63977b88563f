"""Campaign progress: a pure tracker of trial events, and sinks that publish its snapshots.

The tracker keeps one small record per trial in the driver's memory; what it publishes is bounded
(counters, best trial, top-K). Publication is coalesced: whatever the trial rate, a sink sees at
most one write per interval, plus a final one.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, TextIO

from . import ranking
from .spec import Objective
from .status import TOP_K, CampaignStatus, Phase, TrialCounts, TrialSummary, iso_time, now_iso
from .status_io import write_status
from .tune_names import ERROR, PAUSED, PENDING, RUNNING, TERMINATED, TRAINING_ITERATION


@dataclass
class _TrialRecord:
    state: str = PENDING
    best: float | None = None
    best_config: dict[str, Any] = field(default_factory=dict)  # PBT changes config mid-trial
    best_iteration: int = 0
    best_at: float | None = None  # seconds since the epoch; shown as ISO time
    last_iteration: int = 0
    error: str | None = None
    stopped_early: bool = False  # the scheduler cut it as unpromising
    preempted: int = 0  # times its node went away and it was retried (campaign.preemption)
    order: int = 0  # of the tracker's first news of it: ranks equal results, first first


class CampaignTracker:
    """Folds trial events into a :class:`CampaignStatus`. Pure: no Ray, no I/O."""

    def __init__(self, objective: Objective, clock: Callable[[], float] = time.monotonic) -> None:
        self.objective = objective
        self._clock = clock
        self._started = clock()
        self._elapsed_before = 0.0  # a resumed campaign's time in earlier runs
        self._trials: dict[str, _TrialRecord] = {}
        self._created = 0
        # The TOP_K best trials, by (signed best value, order). A trial's best only ever
        # improves, so a trial enters when it beats the last of them and none needs reading
        # again: the snapshot's cost does not grow with the campaign.
        self._top: dict[str, tuple[float, int]] = {}
        self._sign = ranking.sign(objective.mode)
        self._best_id: str | None = None
        self._errored = 0  # records with an error: failFast asks after every step
        self.results_processed = 0
        self.time_to_target: float | None = None
        self.start_time = now_iso()

    def _record(self, trial_id: str, state: str = PENDING) -> _TrialRecord:
        record = self._trials.get(trial_id)
        if record is None:
            record = self._trials[trial_id] = _TrialRecord(state=state, order=self._created)
            self._created += 1
        return record

    def _rank(self, trial_id: str, record: _TrialRecord) -> None:
        assert record.best is not None
        key, top = (self._sign * record.best, record.order), self._top
        if trial_id in top or len(top) < TOP_K:
            top[trial_id] = key
            return
        last = max(top, key=top.__getitem__)
        if key < top[last]:
            del top[last]
            top[trial_id] = key

    # -- events -------------------------------------------------------------------------------
    def trial_state(self, trial_id: str, state: str) -> None:
        self._record(trial_id).state = state

    def trial_result(self, trial_id: str, config: dict[str, Any], result: dict[str, Any]) -> bool:
        """Record one reported result; True when it made a new best trial."""
        record = self._record(trial_id, RUNNING)
        self.results_processed += 1
        iteration = int(result.get(TRAINING_ITERATION, record.last_iteration + 1))
        record.last_iteration = max(record.last_iteration, iteration)
        value = result.get(self.objective.metric)
        # Missing, NaN or infinite: not a result to rank (JSON, and so the CR status, has no inf).
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        value = float(value)
        if record.best is None or self.objective.better(value, record.best):
            record.best, record.best_iteration, record.best_at = value, iteration, time.time()
            record.best_config = config
            self._rank(trial_id, record)
        if self.time_to_target is None and self.objective.reached(value):
            self.time_to_target = self.elapsed()
        best = self._trials[self._best_id].best if self._best_id else None
        if best is None or self.objective.better(value, best):
            self._best_id = trial_id
            return True
        return False

    def trial_completed(self, trial_id: str, result: dict[str, Any] | None = None) -> None:
        record = self._record(trial_id)
        if record.state != ERROR:  # Tune may announce completion after an error
            record.state = TERMINATED
        if result:
            record.last_iteration = max(record.last_iteration,
                                        int(result.get(TRAINING_ITERATION, 0) or 0))

    def trial_errored(self, trial_id: str, error: str) -> None:
        record = self._record(trial_id)
        self._errored += record.error is None
        record.state, record.error = ERROR, error

    def trial_preempted(self, trial_id: str, times: int = 1) -> None:
        """The trial's node went away: it waits to be retried from its last checkpoint."""
        record = self._record(trial_id)
        record.preempted += times
        if record.state == RUNNING:
            record.state = PENDING

    def trial_stopped_early(self, trial_id: str) -> None:
        """The scheduler stopped the trial as unpromising (its completion comes next)."""
        self._record(trial_id).stopped_early = True

    def settle(self) -> None:
        """The campaign ended for good (it is not resumed): a trial that Tune ended with it (a
        time limit, the target reached, another trial's error with failFast) ended at a stop
        limit; one that never started was never more than a place in Tune's queue."""
        for trial_id, record in list(self._trials.items()):
            if record.state in (RUNNING, PAUSED) or (record.state == PENDING
                                                     and record.last_iteration > 0):
                record.state = TERMINATED
            elif record.state == PENDING:
                del self._trials[trial_id]

    def pause_running(self) -> None:
        """The run stopped with its experiment saved: running trials wait for the resume."""
        for record in self._trials.values():
            if record.state == RUNNING:
                record.state = PAUSED

    def carry_over(self, elapsed_before: float, time_to_target: float | None) -> None:
        """Continue the clock of earlier runs of a resumed campaign, and keep when it reached
        its target then (its results, replayed into this tracker, would time it now)."""
        self._elapsed_before = elapsed_before
        self.time_to_target = time_to_target

    # -- queries ------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return self._elapsed_before + self._clock() - self._started

    def counts(self) -> TrialCounts:
        counts = TrialCounts(total=len(self._trials))
        for record in self._trials.values():
            counts.preempted += record.preempted
            if record.state == RUNNING:
                counts.running += 1
            elif record.state == PAUSED:
                counts.paused += 1
            elif record.state == ERROR:
                counts.errored += 1
            elif record.state == TERMINATED:
                # Tune marks a trial TERMINATED however it ended; the scheduler says which
                # trials it cut (early_stops). Any other ended by itself or at a limit.
                if record.stopped_early:
                    counts.stopped += 1
                else:
                    counts.completed += 1
            else:
                counts.pending += 1
        return counts

    def errors(self) -> list[tuple[str, str]]:
        return [(tid, r.error) for tid, r in self._trials.items() if r.error is not None]

    def has_errors(self) -> bool:
        """Whether any trial errored; constant time, where errors() reads every record."""
        return self._errored > 0

    def _summary(self, trial_id: str) -> TrialSummary:
        r = self._trials[trial_id]
        assert r.best is not None
        return TrialSummary(id=trial_id, config=r.best_config, metric=r.best,
                            iteration=r.best_iteration,
                            reached_at=None if r.best_at is None else iso_time(r.best_at))

    def top_trials(self) -> list[TrialSummary]:
        """The TOP_K best trials, best first; of equal results, the one heard of first first."""
        return [self._summary(tid) for tid in sorted(self._top, key=self._top.__getitem__)]

    def snapshot(self, phase: Phase = Phase.RUNNING, base: CampaignStatus | None = None) -> CampaignStatus:
        """The status now; ``base`` carries what the tracker does not own (conditions, resumes)."""
        status = base.model_copy(deep=True) if base else CampaignStatus()
        top = self.top_trials()
        status.phase = phase
        status.trials = self.counts()
        status.best_trial = top[0] if top else None
        status.top_trials = top
        status.metric, status.mode = self.objective.metric, self.objective.mode
        status.start_time = status.start_time or self.start_time
        status.elapsed_seconds = round(self.elapsed(), 3)
        status.heartbeat_time = now_iso()  # the driver is alive as of this snapshot
        status.results_processed = self.results_processed
        status.time_to_target_seconds = (None if self.time_to_target is None
                                         else round(self.time_to_target, 3))
        return status


# ------------------------------------------------------------------------------------ sinks


class ProgressSink(Protocol):
    def publish(self, status: CampaignStatus) -> None: ...


class JsonFileSink:
    """Writes the status as JSON, atomically: readers never see a half-written file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def publish(self, status: CampaignStatus) -> None:
        write_status(self.path, status)


class ConsoleSink:
    """One line per publication: what a user watching the terminal wants to see."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def publish(self, status: CampaignStatus) -> None:
        t = status.trials
        elapsed = int(status.elapsed_seconds or 0)
        best = "-"
        if status.best_trial is not None:
            best = (f"{status.best_trial.metric:.4g} (trial {status.best_trial.id}, "
                    f"iter {status.best_trial.iteration})")
        used = status.usage
        spent = "" if used is None or not (used.gpu_hours or used.cpu_hours) else \
            f" | spent {used.gpu_hours:.3g} GPU-h, {used.cpu_hours:.3g} CPU-h"
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {status.phase.value:<9} "
              f"trials {t.running} running, {t.completed} completed, {t.stopped} stopped early, "
              f"{t.errored} errored, {t.pending + t.paused} waiting | best {status.metric} {best}"
              f"{spent}", file=self.stream, flush=True)


class CoalescingPublisher:
    """Forwards at most one snapshot per ``interval`` seconds to every sink; ``flush`` always does."""

    def __init__(self, sinks: list[ProgressSink], interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sinks = sinks
        self.interval = interval
        self._clock = clock
        self._last: float | None = None

    def due(self) -> bool:
        return self._last is None or self._clock() - self._last >= self.interval

    def maybe_publish(self, make_status: Callable[[], CampaignStatus]) -> bool:
        if not self.due():
            return False
        self.flush(make_status())
        return True

    def flush(self, status: CampaignStatus) -> None:
        self._last = self._clock()
        for sink in self.sinks:
            sink.publish(status)
