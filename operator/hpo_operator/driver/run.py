"""One campaign run, from its experiment directory to its final status."""

from __future__ import annotations

import logging
from pathlib import Path

from ..campaign.experiment import ExperimentDir, ExperimentInUse, driver_identity
from ..campaign.progress import CoalescingPublisher, JsonFileSink, ProgressSink
from ..campaign.spec import Campaign
from ..campaign.status import CampaignStatus, Phase, now_iso
from ..campaign.status_io import StatusUnreadable
from . import cluster, outcome
from .events import CampaignProgress
from .tracking import TrackingError, check_available
from .tuner import TrainableError, build_tuner, load_trainable

logger = logging.getLogger(__name__)


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
    exp = ExperimentDir.of(storage, campaign)
    try:
        with exp.locked(driver_identity(instance)):
            exp.set_aside_another_instance(instance)
            final = None if rerun_finished else exp.final_status()
            conflict = exp.spec_conflict(campaign)
            if final is None and conflict is None:
                return _run(campaign, exp, sinks, address, publish_interval, instance,
                            expect_nodes, nodes_timeout)
            told = final or outcome.refused("SpecChanged", conflict or "", exp.path)
    except ExperimentInUse as exc:
        told = outcome.refused("Conflict", str(exc), exp.path)
    except StatusUnreadable as exc:
        told = outcome.refused("StatusUnreadable", f"cannot tell whether the experiment in "
                               f"{exp.path} finished: {exc}; repair or move it", exp.path)
    for sink in sinks:  # told to the caller only: the experiment stays as it is
        sink.publish(told)
    return told


def _run(campaign: Campaign, exp: ExperimentDir, sinks: list[ProgressSink], address: str | None,
         publish_interval: float, instance: str | None, expect_nodes: int,
         nodes_timeout: float) -> CampaignStatus:
    """The run itself, with the experiment held and checked: resume or start, then Tune."""
    spec = campaign.spec
    previous = exp.unfinished_or_archive()
    publisher = CoalescingPublisher([*sinks, JsonFileSink(exp.status_file)], publish_interval)
    progress = CampaignProgress(spec, publisher, _base_status(exp, previous))
    try:
        trainable = load_trainable(spec.trainable.entrypoint)
    except TrainableError as exc:
        return outcome.finish(progress, Phase.FAILED, "TrainableNotFound", str(exc))
    try:
        check_available(campaign)
    except TrackingError as exc:
        return outcome.finish(progress, Phase.FAILED, "TrackingUnavailable", str(exc))

    cluster.ensure_ray(address)
    missing = cluster.wait_for_nodes(expect_nodes, nodes_timeout, progress)
    unschedulable = cluster.unschedulable(spec)
    if unschedulable:
        return outcome.finish(progress, Phase.FAILED, "Unschedulable",
                              f"{unschedulable} ({missing})" if missing else unschedulable)
    exp.record(campaign, instance)
    _note_resume(progress.base, exp)
    if previous is not None:
        progress.seed_from(exp.path, previous)
    progress.publish(Phase.RUNNING)

    from ..campaign import early_stops
    from .budget import keeping
    from .signals import stop_signals_save_the_experiment
    from .tune_callback import reporting_to

    try:
        tuner = build_tuner(campaign, trainable, exp.path)
        with reporting_to(progress), early_stops.reporting_to(progress.trial_stopped_early), \
                keeping(progress.budget), stop_signals_save_the_experiment():
            results = tuner.fit()
    except Exception as exc:  # Tune raises for experiment-level failures; report, don't crash
        logger.debug("campaign failed", exc_info=True)
        return outcome.driver_error(progress, exc, spec.objective.metric)
    if progress.stopped_by_signal():
        return outcome.interrupted(progress)
    return outcome.conclude(progress, spec, results)


def _base_status(exp: ExperimentDir, previous: CampaignStatus | None) -> CampaignStatus:
    """What a run's status starts from: a fresh one, or the one of the run it resumes."""
    base = CampaignStatus(phase=Phase.PENDING, start_time=now_iso(), experiment_path=str(exp.path))
    if previous is not None:
        base.resumed = previous.resumed + 1
        base.start_time = previous.start_time or base.start_time
        base.conditions = [c for c in previous.conditions if c.type != "Complete"]
    return base


def _note_resume(status: CampaignStatus, exp: ExperimentDir) -> None:
    resumed = status.resumed > 0
    status.set_condition(
        "Resumed", resumed, "ExperimentRestored" if resumed else "FreshStart",
        f"restored the Tune experiment in {exp.path} (resume #{status.resumed})" if resumed
        else f"a new Tune experiment in {exp.path}")
