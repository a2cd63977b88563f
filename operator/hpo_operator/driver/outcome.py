"""How a run ended, in the status's words: the phase, the Complete condition's reason, a message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..campaign.experiment import INTERRUPTED
from ..campaign.schedule import schedule_hook
from ..campaign.spec import CampaignSpec
from ..campaign.status import CampaignStatus, Phase, Reproduction, now_iso
from .events import CampaignProgress
from .reproduce import reproduction


def finish(progress: CampaignProgress, phase: Phase, reason: str, message: str,
           reproduce: Reproduction | None = None) -> CampaignStatus:
    """The final status: published to every sink and returned. Unless a rerun resumes the
    campaign (interrupted), no trial is left running or waiting: they ended with it."""
    if reason != INTERRUPTED:
        progress.tracker.settle()
    progress.judge_stalls(ended=True)
    progress.base.set_condition("Complete", True, reason, message)
    progress.base.message = message
    progress.base.completion_time = now_iso()
    status = progress.status(phase)
    if status.best_trial is not None and reproduce is not None:
        # A copy: the best trial is also the first of the top trials, which need no record.
        status.best_trial = status.best_trial.model_copy(update={"reproduce": reproduce})
    progress.publisher.flush(status)
    return status


def refused(reason: str, message: str, experiment: Path) -> CampaignStatus:
    """The status of a run refused before it started; the experiment stays as it was."""
    status = CampaignStatus(phase=Phase.FAILED, message=message, experiment_path=str(experiment),
                            completion_time=now_iso())
    status.set_condition("Complete", True, reason, message)
    return status


def interrupted(progress: CampaignProgress) -> CampaignStatus:
    progress.tracker.pause_running()  # saved with the experiment: a rerun resumes them
    counts = progress.status().trials
    return finish(progress, Phase.FAILED, INTERRUPTED,
                  f"stopped by a signal after {counts.completed + counts.stopped} finished "
                  f"trials; the experiment was saved: run the campaign again to resume it")


def driver_error(progress: CampaignProgress, exc: BaseException, metric: str) -> CampaignStatus:
    """Tune raised for an experiment-level failure: say which, in one line."""
    unreported = _metric_not_reported(exc, metric)
    if unreported:
        return finish(progress, Phase.FAILED, "MetricNotReported", unreported)
    return finish(progress, Phase.FAILED, "DriverError", _one_line(exc))


def conclude(progress: CampaignProgress, spec: CampaignSpec, results: Any) -> CampaignStatus:
    """The outcome of a run that went to its end: the best trial, or why there is none.
    ``results`` is Tune's ResultGrid, which holds the best trial's full config."""
    errors = progress.tracker.errors()
    status = progress.status()
    if errors:
        tid, message = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        progress.base.set_condition("TrialsErrored", True, "TrialError",
                                    f"trial {tid} failed: {message}{more}")
    if status.best_trial is None:
        reason, message = ("TrialError", f"every trial failed; first: {errors[0][1]}") if errors \
            else ("MetricNotReported",
                  f"no trial reported the objective metric {spec.objective.metric!r}")
        return finish(progress, Phase.FAILED, reason, message)
    if errors and spec.runtime.fail_fast:
        return finish(progress, Phase.FAILED, "TrialError",
                      f"stopped at the first trial error (runtime.failFast): {errors[0][1]}")
    progress.base.schedule = schedule_hook(spec, progress.base.experiment_path, status.best_trial)
    spent = f"budget {progress.budget.spent}; " if progress.budget.exhausted else ""
    return finish(progress, Phase.SUCCEEDED, "CampaignFinished",
                  f"{spent}best {spec.objective.metric} {status.best_trial.metric:.6g} "
                  f"from trial {status.best_trial.id}",
                  reproduction(spec, status.best_trial.id, results))


_MISSING_METRIC = "did not include the specified metric"
_TUNE_KEYS = {"done", "trial_id", "experiment_tag", "should_checkpoint"}


def _metric_not_reported(exc: BaseException, metric: str) -> str | None:
    """The plain reason when Tune's strict metric check stopped the run: a trial reported a
    result without the objective metric. Names what the trainable does report instead."""
    from ray.tune.result import AUTO_RESULT_KEYS

    cause: BaseException | None = exc
    for _ in range(8):  # the check's ValueError may sit under Tune's own error
        if cause is None or _MISSING_METRIC in str(cause):
            break
        cause = cause.__cause__ or cause.__context__
    if cause is None or _MISSING_METRIC not in str(cause):
        return None
    shown = str(cause).partition("Result: ")[2]  # the flattened result, as Tune prints it
    keys = [k for k in dict.fromkeys(re.findall(r"'([^'/]+)': ", shown))
            if k not in AUTO_RESULT_KEYS and k not in _TUNE_KEYS]
    reported = f"; its results have: {', '.join(keys)}" if keys else ""
    return (f"a trial reported a result without the objective metric {metric!r} "
            f"(spec.objective.metric){reported}")


def _one_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    text = lines[-1].strip() if lines else type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:400]
