"""The campaign driver: runs one campaign on whatever Ray cluster it is given.

Every backend ends here: ``hpo run`` on embedded local Ray, the RayJob entrypoint on KubeRay, the
batch script on Slurm. The driver builds the Tuner from the spec, restores an unfinished
experiment instead of starting over, and streams coalesced progress to the sinks it is handed.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .progress import CampaignTracker, CoalescingPublisher, JsonFileSink, ProgressSink
from .rules import max_iterations
from .schedule import schedule_hook
from .searchspace import param_space
from .spec import Campaign, CampaignSpec
from .status import CampaignStatus, Phase, now_iso
from .status_io import read_status_or_none as read_status
from .strategies import (checkpoint_frequency, checkpoints_to_keep, make_scheduler, make_searcher,
                         stop_criteria)

logger = logging.getLogger(__name__)

STATUS_FILE = "campaign-status.json"
MANIFEST_FILE = "campaign.json"
INSTANCE_FILE = "instance"  # the campaign object's identity (a Kubernetes uid), when it has one
INTERRUPTED = "Interrupted"  # the Complete condition's reason when a stop signal ended the run


class TrainableError(Exception):
    """The trainable named by ``spec.trainable.entrypoint`` cannot be used."""


def load_trainable(entrypoint: str) -> Any:
    module_name, _, attribute = entrypoint.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's to see, with its cause
        raise TrainableError(
            f"cannot import module {module_name!r} of spec.trainable.entrypoint "
            f"{entrypoint!r}: {type(exc).__name__}: {exc}") from exc
    try:
        trainable = getattr(module, attribute)
    except AttributeError:
        raise TrainableError(f"module {module_name!r} has no attribute {attribute!r} "
                             f"(spec.trainable.entrypoint {entrypoint!r})") from None
    if not callable(trainable):
        raise TrainableError(f"{entrypoint!r} is not a function or Trainable class")
    return trainable


def supports_reset(trainable: Any) -> bool:
    """Whether Tune may reuse this trainable's actors: a class must implement ``reset_config``;
    Tune's wrapper for function trainables implements it (it restarts the function)."""
    from ray.tune import Trainable

    if not isinstance(trainable, type):
        return True
    return issubclass(trainable, Trainable) and trainable.reset_config is not Trainable.reset_config


def experiment_dir(storage: str | Path, campaign: Campaign) -> Path:
    return Path(storage).expanduser().resolve() / campaign.metadata.name




def interrupted(status: CampaignStatus) -> bool:
    """Whether a stop signal ended the run: the experiment was saved and a rerun resumes it."""
    complete = status.condition("Complete")
    return complete is not None and complete.reason == INTERRUPTED


def finished(status: CampaignStatus | None) -> bool:
    return status is not None and status.phase.terminal and not interrupted(status)


def _archive_finished(exp_dir: Path) -> CampaignStatus | None:
    """A finished experiment is kept under a new name; an unfinished one is returned to resume."""
    previous = read_status(exp_dir / STATUS_FILE)
    if finished(previous):
        _set_aside(exp_dir, previous.completion_time or now_iso())
        return None
    return previous


def _set_aside(exp_dir: Path, when: str) -> Path:
    stamp = when.replace(":", "").replace("-", "")
    target = exp_dir.with_name(f"{exp_dir.name}-{stamp}")
    suffix = 1
    while target.exists():
        target = exp_dir.with_name(f"{exp_dir.name}-{stamp}-{suffix}")
        suffix += 1
    shutil.move(str(exp_dir), str(target))
    logger.info("previous run of %s kept in %s", exp_dir.name, target)
    return target


def _set_aside_another_instance(exp_dir: Path, instance: str | None) -> None:
    """An experiment left by another campaign object of the same name (deleted and created
    again) is not this campaign's: it is kept under a new name, never resumed or reported."""
    marker = exp_dir / INSTANCE_FILE
    if instance is not None and marker.is_file() and marker.read_text().strip() != instance:
        _set_aside(exp_dir, now_iso())


def _spec_conflict(exp_dir: Path, campaign: Campaign) -> str | None:
    """Why the unfinished experiment in ``exp_dir`` cannot be resumed with this campaign's spec.

    Restoring it would mix trials of two different campaigns under one name (Tune would go on
    with the old search space and budget), so a changed spec is refused, naming what changed.
    """
    if finished(read_status(exp_dir / STATUS_FILE)):
        return None
    try:
        stored = json.loads((exp_dir / MANIFEST_FILE).read_text())["spec"]
    except (OSError, ValueError, KeyError):
        return None  # nothing recorded yet: the run died before its first trial
    current = json.loads(campaign.model_dump_json(by_alias=True))["spec"]
    changed = sorted(k for k in stored.keys() | current.keys() if stored.get(k) != current.get(k))
    if not changed:
        return None
    return (f"{exp_dir} holds an unfinished experiment of this campaign with a different spec "
            f"(changed: {', '.join('spec.' + k for k in changed)}); resume it with the manifest "
            f"it was started from, or start afresh under another metadata.name or --storage")


class _Progress:
    """The running campaign: folds Tune's trial events into the pure tracker and publishes it.

    It also notes whether Tune caught a stop signal (SIGINT, SIGUSR1, or SIGTERM passed on):
    fit() then returns as if the campaign were done. Tune installs its SIGINT handler when the
    run starts and puts the previous one back the moment it catches a stop signal, so the handler
    seen inside the run differs from the one left afterwards exactly when it fired.
    """

    def __init__(self, spec: CampaignSpec, publisher: CoalescingPublisher,
                 base: CampaignStatus) -> None:
        self.tracker = CampaignTracker(spec.objective, max_iterations(spec))
        self.publisher = publisher
        self.base = base
        self.searched = set(spec.search_space)
        self._sigint_handler_in_run: Any = None

    def status(self, phase: Phase = Phase.RUNNING) -> CampaignStatus:
        return self.tracker.snapshot(phase, base=self.base)

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
            for trial in trials:  # states Tune changes without a callback (pause, pending)
                if trial.status in ("PENDING", "PAUSED", "RUNNING"):
                    self.tracker.trial_state(trial.trial_id, trial.status)
            self.publisher.flush(self.status())

    def trial_started(self, trial: Any) -> None:
        self.tracker.trial_state(trial.trial_id, "RUNNING")

    def trial_reported(self, trial: Any, result: dict[str, Any]) -> None:
        if self.tracker.trial_result(trial.trial_id, self.config(trial), result):
            logger.debug("new best trial %s", trial.trial_id)

    def trial_completed(self, trial: Any) -> None:
        self.tracker.trial_completed(trial.trial_id, trial.last_result)

    def trial_errored(self, trial: Any) -> None:
        self.tracker.trial_errored(trial.trial_id, _error_summary(trial))

    def seed_from(self, exp_dir: Path, previous: CampaignStatus) -> None:
        """Start a resumed run from what the saved experiment holds, so that progress goes on
        from there: its trials' results, the finished ones, the clock and time to target."""
        from ray.tune import ExperimentAnalysis

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
            if trial.status == "TERMINATED":
                self.tracker.trial_completed(trial.trial_id, trial.last_result)
            else:  # unfinished and errored trials are resumed
                self.tracker.trial_state(trial.trial_id, "PENDING")
        self.tracker.carry_over(previous.elapsed_seconds or 0.0,
                                previous.time_to_target_seconds)


def _error_summary(trial: Any) -> str:
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


def run_campaign(
    campaign: Campaign,
    storage: str | Path,
    sinks: list[ProgressSink],
    *,
    address: str | None = None,
    publish_interval: float = 2.0,
    rerun_finished: bool = True,
    instance: str | None = None,
    expect_nodes: int = 1,
    nodes_timeout: float = 300.0,
) -> CampaignStatus:
    """Run ``campaign`` to the end and return its final status (also published to ``sinks``).

    A finished experiment already in ``storage`` is kept under a new name and the campaign runs
    again, unless ``rerun_finished`` is False: then its final status is published once more and
    returned (a job retry after the result was written must not start the campaign over).
    ``instance`` identifies the campaign object: another object's experiment is set aside.
    On a cluster whose workers may still be joining, the resource check waits up to
    ``nodes_timeout`` seconds for ``expect_nodes`` nodes first.
    """
    spec = campaign.spec
    exp_dir = experiment_dir(storage, campaign)
    exp_dir.parent.mkdir(parents=True, exist_ok=True)
    _set_aside_another_instance(exp_dir, instance)
    if not rerun_finished:
        final = read_status(exp_dir / STATUS_FILE)
        if finished(final):
            for sink in sinks:
                sink.publish(final)
            return final
    conflict = _spec_conflict(exp_dir, campaign)
    if conflict:  # told to the caller only: the stored experiment stays as it is, resumable
        refused = CampaignStatus(phase=Phase.FAILED, message=conflict, experiment_path=str(exp_dir),
                                 completion_time=now_iso())
        refused.set_condition("Complete", True, "SpecChanged", conflict)
        for sink in sinks:
            sink.publish(refused)
        return refused
    previous = _archive_finished(exp_dir) if exp_dir.exists() else None
    base = CampaignStatus(phase=Phase.PENDING, start_time=now_iso(), experiment_path=str(exp_dir))
    if previous is not None:
        base.resumed = previous.resumed + 1
        base.start_time = previous.start_time or base.start_time
        base.conditions = [c for c in previous.conditions if c.type != "Complete"]
    publisher = CoalescingPublisher([*sinks, JsonFileSink(exp_dir / STATUS_FILE)], publish_interval)
    progress = _Progress(spec, publisher, base)

    try:
        trainable = load_trainable(spec.trainable.entrypoint)
    except TrainableError as exc:
        return _finish(progress, Phase.FAILED, "TrainableNotFound", str(exc))

    _ensure_ray(address)
    missing = _wait_for_nodes(expect_nodes, nodes_timeout, progress)
    unschedulable = _unschedulable(spec)
    if unschedulable:
        return _finish(progress, Phase.FAILED, "Unschedulable",
                       f"{unschedulable} ({missing})" if missing else unschedulable)
    exp_dir.mkdir(parents=True, exist_ok=True)
    (exp_dir / MANIFEST_FILE).write_text(campaign.model_dump_json(by_alias=True, indent=2))
    if instance is not None:
        (exp_dir / INSTANCE_FILE).write_text(instance + "\n")
    resumed = base.resumed > 0
    progress.base.set_condition(
        "Resumed", resumed, "ExperimentRestored" if resumed else "FreshStart",
        f"restored the Tune experiment in {exp_dir} (resume #{base.resumed})" if resumed
        else f"a new Tune experiment in {exp_dir}")
    if previous is not None:
        progress.seed_from(exp_dir, previous)
    publisher.flush(progress.status(Phase.RUNNING))
    from .tune_callback import reporting_to

    try:
        tuner = _make_tuner(campaign, trainable, exp_dir)
        with reporting_to(progress), _sigterm_stops_like_sigint():
            tuner.fit()
    except Exception as exc:  # Tune raises for experiment-level failures; report, don't crash
        logger.debug("campaign failed", exc_info=True)
        unreported = _metric_not_reported(exc, spec.objective.metric)
        if unreported:
            return _finish(progress, Phase.FAILED, "MetricNotReported", unreported)
        return _finish(progress, Phase.FAILED, "DriverError", _one_line(exc))
    if progress.stopped_by_signal():
        progress.tracker.pause_running()  # saved with the experiment: a rerun resumes them
        counts = progress.status().trials
        return _finish(progress, Phase.FAILED, INTERRUPTED,
                       f"stopped by a signal after {counts.completed + counts.stopped} finished "
                       f"trials; the experiment was saved: run the campaign again to resume it")
    return _conclude(progress, spec)


class _NoRestoreHint(logging.Filter):
    """Drops Tune's advice to call ``Tuner.restore()`` after an interrupt: a campaign resumes
    by running it again, as its own status message says."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Experiment has been interrupted")


logging.getLogger("ray.tune.tune").addFilter(_NoRestoreHint())


@contextmanager
def _sigterm_stops_like_sigint() -> Iterator[None]:
    """Make SIGTERM stop the run the way Ctrl-C does.

    Kubernetes (pod deletion, node drain), ``ray job stop`` and batch systems end a driver with
    SIGTERM, which would kill it before Tune saves the experiment; Tune saves on SIGINT and
    SIGUSR1. The first SIGTERM is passed on as SIGUSR1, whose Tune handler stays in place, so a
    stop signal sent alongside it (Slurm's script sends one) does not cut the final save short;
    a second SIGTERM ends the process as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; an embedding caller keeps its own
        return

    def forward(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, previous)
        logger.warning("SIGTERM: stopping the campaign and saving it for a resume")
        signal.raise_signal(signal.SIGUSR1)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ensure_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    # Trial output stays in each trial's log files; the console shows the campaign's progress.
    verbose = os.environ.get("HPO_VERBOSE") == "1"
    ray.init(address=address, include_dashboard=False, log_to_driver=verbose,
             logging_level=logging.INFO if verbose else logging.WARNING,
             configure_logging=True)


def _wait_for_nodes(nodes: int, timeout: float, progress: _Progress) -> str | None:
    """Wait for the nodes the cluster was given; None once they are there, else how many are.
    The status says what the campaign waits for meanwhile (condition ``NodesReady``)."""
    if nodes <= 1:
        return None
    from .nodes import alive_nodes, wait_for_nodes

    alive = alive_nodes()
    if alive < nodes:
        # A condition, not only the message: on Kubernetes the operator owns the message.
        waiting = f"waiting up to {timeout:g} s for {nodes} Ray nodes to join ({alive} so far)"
        logger.warning("%s", waiting)
        progress.base.set_condition("NodesReady", False, "WaitingForNodes", waiting)
        pending = progress.status(Phase.PENDING)
        pending.message = waiting
        progress.publisher.flush(pending)
    missing = wait_for_nodes(nodes, timeout)
    if missing:  # trials may still run on the nodes there are; the resource check decides
        logger.warning("%s; starting with the nodes there are", missing)
        progress.base.set_condition("NodesReady", False, "NodesMissing", missing)
    else:
        progress.base.set_condition("NodesReady", True, "NodesJoined", f"{nodes} Ray nodes alive")
    return missing


def _unschedulable(spec: CampaignSpec) -> str | None:
    """Why no trial could ever start on this cluster, or None. Tune would wait forever instead.

    Only totals are checked: an autoscaling cluster may add nodes, but not beyond its limits.
    ``HPO_SKIP_RESOURCE_CHECK=1`` skips the check (a cluster whose limits Ray cannot see yet).
    """
    if os.environ.get("HPO_SKIP_RESOURCE_CHECK"):
        return None
    import ray

    total = ray.cluster_resources()
    wants = {"CPU": spec.resources.per_trial.cpu, "GPU": spec.resources.per_trial.gpu}
    for name, amount in wants.items():
        if amount > total.get(name, 0.0):
            return (f"each trial asks for {amount:g} {name} (spec.resources.perTrial) but the Ray "
                    f"cluster has {total.get(name, 0.0):g} in all; lower the request or add nodes")
    return None


def _make_tuner(campaign: Campaign, trainable: Any, exp_dir: Path) -> Any:
    from ray import tune

    from .tune_callback import CampaignCallback

    spec = campaign.spec
    reuse = spec.runtime.reuse_actors
    if reuse is None:
        reuse = supports_reset(trainable)
    resources = {"cpu": spec.resources.per_trial.cpu, "gpu": spec.resources.per_trial.gpu}
    wrapped = tune.with_resources(trainable, resources)
    space = param_space(spec)
    # Tune's own tables would interleave with the campaign's progress lines.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if tune.Tuner.can_restore(str(exp_dir)):
        return tune.Tuner.restore(str(exp_dir), wrapped, resume_unfinished=True,
                                  resume_errored=True, param_space=space)
    from ray.tune.search import SearchAlgorithm

    searcher = make_searcher(spec)
    # A search-algorithm instance (not a Searcher) limits concurrency itself; Tune warns otherwise.
    limit_here = not isinstance(searcher, SearchAlgorithm)
    tune_config = tune.TuneConfig(
        metric=spec.objective.metric, mode=spec.objective.mode,
        scheduler=make_scheduler(spec), search_alg=searcher, num_samples=spec.budget.trials,
        max_concurrent_trials=spec.budget.max_concurrent_trials if limit_here else None,
        time_budget_s=spec.budget.time_limit, reuse_actors=reuse)
    run_config = tune.RunConfig(
        name=exp_dir.name, storage_path=str(exp_dir.parent), stop=stop_criteria(spec),
        failure_config=tune.FailureConfig(max_failures=spec.runtime.max_trial_retries,
                                          fail_fast=spec.runtime.fail_fast),
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=checkpoints_to_keep(spec), checkpoint_frequency=checkpoint_frequency(spec),
            checkpoint_at_end=spec.checkpoint.at_end),
        callbacks=[CampaignCallback()], verbose=0)
    return tune.Tuner(wrapped, param_space=space, tune_config=tune_config, run_config=run_config)


def _conclude(progress: _Progress, spec: CampaignSpec) -> CampaignStatus:
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
        return _finish(progress, Phase.FAILED, reason, message)
    if errors and spec.runtime.fail_fast:
        return _finish(progress, Phase.FAILED, "TrialError",
                       f"stopped at the first trial error (runtime.failFast): {errors[0][1]}")
    progress.base.schedule = schedule_hook(spec, progress.base.experiment_path, status.best_trial)
    return _finish(progress, Phase.SUCCEEDED, "CampaignFinished",
                   f"best {spec.objective.metric} {status.best_trial.metric:.6g} "
                   f"from trial {status.best_trial.id}")


def _finish(progress: _Progress, phase: Phase, reason: str, message: str) -> CampaignStatus:
    progress.base.set_condition("Complete", True, reason, message)
    progress.base.message = message
    progress.base.completion_time = now_iso()
    status = progress.status(phase)
    progress.publisher.flush(status)
    return status


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

