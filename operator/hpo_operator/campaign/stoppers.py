"""The stop criteria of ``spec.budget`` as Ray Tune stoppers, combined into one.

Classes, not closures, so that they pickle with the experiment. Imports Ray: imported only when a
campaign has stop criteria beside its iteration cap.
"""

from __future__ import annotations

import math
from typing import Any

from ray.tune.stopper import CombinedStopper, Stopper, TrialPlateauStopper

from . import ranking
from .spec import CampaignSpec


def _reached(value: Any, threshold: float, mode: str) -> bool:
    """``value`` is a finite number at least as good as ``threshold``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return not ranking.better(threshold, float(value), mode)


class ResultLimits(Stopper):
    """Ray Tune's dict form: a trial stops once ``result[key] >= value`` for any key."""

    def __init__(self, limits: dict[str, float]) -> None:
        self.limits = dict(limits)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return any(_reached(result.get(k), v, "max") for k, v in self.limits.items())

    def stop_all(self) -> bool:
        return False


class GoodEnough(Stopper):
    """A trial stops once any of its metrics is at least as good as its threshold."""

    def __init__(self, thresholds: list[tuple[str, float, str]]) -> None:
        self.thresholds = list(thresholds)  # (metric, threshold, mode)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return any(_reached(result.get(m), t, mode) for m, t, mode in self.thresholds)

    def stop_all(self) -> bool:
        return False


class TargetReached(Stopper):
    """The whole campaign stops once any trial reports the objective's target."""

    def __init__(self, metric: str, target: float, mode: str) -> None:
        self.metric, self.target, self.mode = metric, target, mode
        self.reached = False

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self.reached = self.reached or _reached(result.get(self.metric), self.target, self.mode)
        return False  # stop_all stops this trial with the others

    def stop_all(self) -> bool:
        return self.reached


def combined_stopper(spec: CampaignSpec, limits: dict[str, float]) -> Stopper:
    """Every criterion of ``spec.budget.stop``, and ``limits``, OR-ed in one stopper.

    CombinedStopper asks its stoppers in order and stops asking at the first yes, so those that
    keep state come first: the target (never a yes for one trial) and the plateau see every
    result.
    """
    objective, stop = spec.objective, spec.budget.stop
    stoppers: list[Stopper] = []
    if stop.at_target:
        assert objective.target is not None  # validation requires one
        stoppers.append(TargetReached(objective.metric, objective.target, objective.mode))
    if stop.plateau is not None:
        p = stop.plateau
        metric = p.metric or objective.metric
        mode = p.mode or (objective.mode if metric == objective.metric else None)
        stoppers.append(TrialPlateauStopper(
            metric=metric, std=p.std, num_results=p.num_results, grace_period=p.grace_period,
            metric_threshold=p.metric_threshold, mode=mode))
    if stop.thresholds:
        stoppers.append(GoodEnough([(t.metric, t.threshold, t.mode or objective.mode)
                                    for t in stop.thresholds]))
    if limits:
        stoppers.append(ResultLimits(limits))
    return stoppers[0] if len(stoppers) == 1 else CombinedStopper(*stoppers)
