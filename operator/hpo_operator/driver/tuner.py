"""From a campaign spec to Ray Tune's arguments: the trainable, the Tuner and its configs."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ..campaign.searchspace import param_space
from ..campaign.spec import Campaign
from ..campaign.strategies import (
    checkpoint_frequency,
    checkpoint_score,
    checkpoints_to_keep,
    make_scheduler,
    make_searcher,
    stop_criteria,
)


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


def build_tuner(campaign: Campaign, trainable: Any, exp_dir: Path) -> Any:
    """A Tuner for the campaign: the saved experiment in ``exp_dir`` restored, else a new one."""
    from ray import tune

    from .. import searchers  # noqa: F401  (fills the registry make_searcher looks in)
    from .usage_tags import count_without_imports

    count_without_imports()  # Ray's usage tag would import wandb and mlflow (see .usage_tags)
    spec = campaign.spec
    wrapped = tune.with_resources(trainable, trial_resources(campaign))
    space = param_space(spec)
    # Tune's own tables would interleave with the campaign's progress lines.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if tune.Tuner.can_restore(str(exp_dir)):
        from .saved_state import reconcile_generator

        reconcile_generator(exp_dir)  # a kill between Tune's two saves leaves them apart
        return tune.Tuner.restore(str(exp_dir), wrapped, resume_unfinished=True,
                                  resume_errored=True, param_space=space)
    return tune.Tuner(wrapped, param_space=space, tune_config=_tune_config(campaign, trainable),
                      run_config=_run_config(campaign, exp_dir))


def trial_resources(campaign: Campaign) -> Any:
    """What Tune reserves per trial: a placement group of the spec's bundles (one bundle for a
    trial of one process, which is what Tune makes of a resources dict)."""
    from ray.tune import PlacementGroupFactory

    per_trial = campaign.spec.resources.per_trial
    return PlacementGroupFactory(per_trial.ray_bundles(), strategy=per_trial.placement_strategy)


def _tune_config(campaign: Campaign, trainable: Any) -> Any:
    from ray import tune
    from ray.tune.search import SearchAlgorithm

    spec = campaign.spec
    reuse = spec.runtime.reuse_actors
    if reuse is None:
        reuse = supports_reset(trainable)
    searcher = make_searcher(spec)
    if spec.budget.hours_limited:
        from .budget import budgeted_search

        searcher = budgeted_search(searcher, spec)
    # A search-algorithm instance (not a Searcher) limits concurrency itself; Tune warns otherwise.
    limit_here = not isinstance(searcher, SearchAlgorithm)
    return tune.TuneConfig(
        metric=spec.objective.metric, mode=spec.objective.mode,
        scheduler=make_scheduler(spec), search_alg=searcher, num_samples=spec.budget.trials,
        max_concurrent_trials=spec.budget.max_concurrent_trials if limit_here else None,
        time_budget_s=spec.budget.time_limit, reuse_actors=reuse)


def _run_config(campaign: Campaign, exp_dir: Path) -> Any:
    from ray import tune

    from .tracking import tracking_callbacks
    from .trial_failures import with_fail_fast
    from .tune_callback import CampaignCallback

    spec = campaign.spec
    stop = stop_criteria(spec)
    if spec.budget.hours_limited:
        from .budget import budget_stopper

        stop = budget_stopper(stop)
    # Tune's fail_fast trips on any trial error, a preemption too: FailFast stops the campaign
    # instead, at the first trial that errored for good (see .trial_failures).
    if spec.runtime.fail_fast:
        stop = with_fail_fast(stop)
    return tune.RunConfig(
        name=exp_dir.name, storage_path=str(exp_dir.parent), stop=stop,
        failure_config=tune.FailureConfig(max_failures=spec.runtime.max_trial_retries,
                                          fail_fast=False),
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=checkpoints_to_keep(spec), checkpoint_frequency=checkpoint_frequency(spec),
            checkpoint_at_end=spec.checkpoint.at_end, **checkpoint_score(spec)),
        callbacks=[CampaignCallback(), *tracking_callbacks(campaign, exp_dir)], verbose=0)
