"""Stop criteria: when a trial has done enough, and when the whole campaign has.

Beside the budget's iteration cap (``maxIterationsPerTrial``) and time limit: a trial stops once
a metric is good enough (``thresholds``) or has stopped moving (``plateau``, Ray Tune's
``TrialPlateauStopper``), and the campaign stops once ``objective.target`` is reached
(``atTarget``). Trials ended by any of these count as completed, not as stopped early: "stopped"
is kept for the scheduler's decisions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from . import bounds
from .base import SpecModel


class Threshold(SpecModel):
    """A trial stops once ``metric`` is at least as good as ``threshold``."""

    metric: str = Field(min_length=1, max_length=bounds.MAX_METRIC_LENGTH,
                        description="A metric the trainable reports.")
    threshold: float
    mode: Literal["min", "max"] | None = Field(
        default=None, description="Whether lower or higher is better; default: the objective's "
        "mode for the objective's metric (required for any other metric).")


class Plateau(SpecModel):
    """Ray Tune's TrialPlateauStopper: a trial stops once its last results vary less than std."""

    metric: str | None = Field(default=None, max_length=bounds.MAX_METRIC_LENGTH,
                               description="Default: the objective's metric.")
    std: float = Field(default=0.01, gt=0, description="Standard deviation below which the "
                       "last numResults results count as a plateau.")
    num_results: int = Field(default=4, ge=1)
    grace_period: int = Field(default=4, ge=0, description="Results before a trial may stop.")
    metric_threshold: float | None = Field(
        default=None, description="Stop on a plateau only once the metric is at least this good.")
    mode: Literal["min", "max"] | None = Field(
        default=None, description="For metricThreshold; default: the objective's mode for the "
        "objective's metric.")


class Stop(SpecModel):
    thresholds: list[Threshold] = Field(
        default_factory=list, max_length=bounds.MAX_STOP_THRESHOLDS,
        description="Per trial: stop once a metric is good enough.")
    plateau: Plateau | None = None
    at_target: bool = Field(
        default=False, description="Stop the whole campaign once a trial reaches "
        "spec.objective.target.")
