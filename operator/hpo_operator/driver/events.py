"""The running campaign as Tune sees it: trial events folded into the pure tracker, published.

:class:`CampaignProgress` receives what :class:`.tune_callback.CampaignCallback` forwards. It also
notes whether Tune caught a stop signal (SIGINT, SIGUSR1, or SIGTERM passed on): ``fit()`` then
returns as if the campaign were done. Tune installs its SIGINT handler when the run starts and puts
the previous one back the moment it catches a stop signal, so the handler seen inside the run
differs from the one left afterwards exactly when it fired.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Any

from ..campaign import early_stops, stalls
from ..campaign.budget import BudgetKeeper
from ..campaign.progress import CampaignTracker, CoalescingPublisher
from ..campaign.spec import CampaignSpec
from ..campaign.status import CampaignStatus, Phase
from ..campaign.tune_names import PENDING, RUNNING, TERMINATED, UNFINISHED_STATES
from ..campaign.usage import BUDGET_EXHAUSTED, UsageLedger

logger = logging.getLogger(__name__)


class CampaignProgress:
    def __init__(self, spec: CampaignSpec, publisher: CoalescingPublisher,
                 base: CampaignStatus) -> None:
        self.tracker = CampaignTracker(spec.objective)
        self.publisher = publisher
        self.base = base  # what the tracker does not know: times, conditions, resumes
        self.searched = set(spec.search_space)
        self.usage = UsageLedger.for_spec(spec)
        self.budget = BudgetKeeper.for_spec(spec, self.usage, self._budget_spent)
        self.fail_fast = spec.runtime.fail_fast
        runtime = spec.runtime
        self.per_trial = spec.resources.per_trial.total()  # in Ray's names, every bundle summed
        self.stalls = stalls.StallWatch(stalls.StallLimits(
            runtime.trial_pending_seconds, runtime.trial_stall_factor,
            runtime.trial_stall_min_seconds))
        self.clock = time.monotonic
        self._sigint_handler_in_run: Any = None

    def status(self, phase: Phase = Phase.RUNNING) -> CampaignStatus:
        status = self.tracker.snapshot(phase, base=self.base)
        status.usage = self.usage.usage()
        return status

    def publish(self, phase: Phase = Phase.RUNNING, message: str | None = None) -> None:
        status = self.status(phase)
        if message is not None:
            status.message = message
        self.publisher.flush(status)

    def config(self, trial: Any) -> dict[str, Any]:
        return {k: v for k, v in trial.config.items() if k in self.searched}

    def stopped_by_signal(self) -> bool:
        return (self._sigint_handler_in_run is not None
                and signal.getsignal(signal.SIGINT) is not self._sigint_handler_in_run)

    # -- Tune's events (tune_callback.CampaignCallback forwards them here) ----------------------
    def step_begin(self) -> None:
        if self._sigint_handler_in_run is None:
            self._sigint_handler_in_run = signal.getsignal(signal.SIGINT)

    def step_end(self, trials: list[Any]) -> None:
        if self.publisher.due():
            now = self.clock()
            for trial in trials:  # states Tune changes without a callback (pause, pending)
                if trial.status in UNFINISHED_STATES:
                    self.tracker.trial_state(trial.trial_id, trial.status)
                    self.stalls.observe(trial.trial_id, trial.status, now)
            self.judge_stalls()
            self.publisher.flush(self.status())

    def judge_stalls(self, ended: bool = False) -> None:
        """Conditions TrialsPending and TrialStalled as of now (see campaign.stalls); False once
        the campaign ended."""
        now, limits = self.clock(), self.stalls.limits
        waiting = [] if ended else self.stalls.waiting(now)
        silent = [] if ended else self.stalls.silent(now)
        message = ""
        if waiting:
            total, free = _cluster_resources()
            message = stalls.pending_message(waiting, self.per_trial, total, free,
                                             limits.pending_seconds)
        stalls.judge(self.base, stalls.TRIALS_PENDING, bool(waiting), "WaitingForResources",
                     message, "TrialsStarted",
                     f"no trial has waited longer than {limits.pending_seconds:g} s to start")
        stalls.judge(self.base, stalls.TRIAL_STALLED, bool(silent), "NoResults",
                     stalls.stalled_message(silent, limits) if silent else "", "ResultsResumed",
                     "every running trial reports results at its usual pace")

    def trial_started(self, trial: Any) -> None:
        self.tracker.trial_state(trial.trial_id, RUNNING)
        self.usage.started(trial.trial_id)
        self.budget.trial_started(trial)
        self.stalls.started(trial.trial_id, self.clock())

    def trial_reported(self, trial: Any, result: dict[str, Any]) -> None:
        self.usage.result(trial.trial_id, result)
        self.stalls.reported(trial.trial_id, self.clock())
        if self.tracker.trial_result(trial.trial_id, self.config(trial), result):
            logger.debug("new best trial %s", trial.trial_id)

    def trial_completed(self, trial: Any) -> None:
        self.stalls.ended(trial.trial_id)
        self.tracker.trial_completed(trial.trial_id, trial.last_result)
        self.budget.trial_ended(trial.trial_id)

    def trial_errored(self, trial: Any) -> None:
        self.stalls.ended(trial.trial_id)
        self.tracker.trial_errored(trial.trial_id, error_summary(trial))
        self.budget.trial_ended(trial.trial_id)

    def trial_preempted(self, trial: Any) -> None:
        logger.info("trial %s lost its node; retrying it from its last checkpoint",
                    trial.trial_id)
        self.tracker.trial_preempted(trial.trial_id)

    def trial_failed_for_good(self) -> bool:
        """Whether runtime.failFast ends the campaign now: a trial errored, its retries used up."""
        return self.fail_fast and self.tracker.has_errors()

    def trial_stopped_early(self, trial_id: str) -> None:
        """What the schedulers of campaign.stop_recording tell (early_stops.reporting_to)."""
        self.tracker.trial_stopped_early(trial_id)
        self.usage.stopped_early(trial_id)

    def _budget_spent(self, message: str) -> None:
        """The keeper's word that spec.budget's hours are spent: said in the status at once."""
        self.base.set_condition(BUDGET_EXHAUSTED, True, "BudgetSpent", message)
        self.publisher.flush(self.status())

    def seed_from(self, exp_dir: Path, previous: CampaignStatus) -> None:
        """Start a resumed run from what the saved experiment holds, so that progress goes on
        from there: its trials' results, the finished ones, the clock and time to target."""
        from ray.tune import ExperimentAnalysis

        from . import trial_failures

        try:
            analysis = ExperimentAnalysis(str(exp_dir))
        except Exception:  # nothing saved yet (killed before the first save): Tune starts over
            logger.debug("no saved experiment state in %s", exp_dir, exc_info=True)
            return
        frames = analysis.trial_dataframes
        for trial in analysis.trials:
            frame = frames.get(trial.trial_id)
            for row in frame.to_dict("records") if frame is not None else ():
                self.tracker.trial_result(trial.trial_id, self.config(trial), row)
                self.usage.result(trial.trial_id, row)
            self.tracker.trial_preempted(trial.trial_id, trial_failures.preemptions(trial))
            if trial.status == TERMINATED:
                self.tracker.trial_completed(trial.trial_id, trial.last_result)
            else:  # unfinished and errored trials are resumed
                self.tracker.trial_state(trial.trial_id, PENDING)
        for trial_id in early_stops.read(exp_dir):
            self.trial_stopped_early(trial_id)
        self.tracker.carry_over(previous.elapsed_seconds or 0.0,
                                previous.time_to_target_seconds)


def _cluster_resources() -> tuple[dict[str, float], dict[str, float]]:
    """What the Ray cluster has, in all and free now."""
    import ray

    return ray.cluster_resources(), ray.available_resources()


def error_summary(trial: Any) -> str:
    """The last line of the trial's error (the exception and its message), kept short."""
    text = ""
    try:  # the local error file is written before the callback; storage may lag behind
        if trial.error_file and Path(trial.error_file).exists():
            text = Path(trial.error_file).read_text()
        else:
            text = str(trial.get_error() or "")
    except Exception:  # an unreadable error file must not hide the fact that the trial failed
        logger.debug("cannot read the error of trial %s", trial.trial_id, exc_info=True)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "trial failed")[:300]
