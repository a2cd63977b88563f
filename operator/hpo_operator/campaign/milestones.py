"""Where a scheduler looks at a trial: the points a trial may run to when the budget is spent.

ASHA's rungs (``gracePeriod * reductionFactor^k``, and ``maxT``), synchronous HyperBand's
milestones (each bracket's ``r0 * reductionFactor^k`` up to ``maxT``, as Ray Tune computes them),
PBT's and PB2's perturbations (every ``perturbationInterval``, from ``burnInPeriod``), all in the
scheduler's ``timeAttr``. ASHA's brackets above the first start higher on the same ladder, so the
first bracket's rungs hold every bracket's. FIFO and median stopping have none: a trial's next
result is its next milestone. Pure: no Ray.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from .spec import AshaScheduler, CampaignSpec, HyperBandScheduler, PopulationScheduler
from .tune_names import TRAINING_ITERATION

_MAX_POINTS = 4096  # of a ladder: reductionFactor > 1 keeps real ones to a few dozen


@dataclass(frozen=True)
class Milestones:
    attr: str = TRAINING_ITERATION  # the result key progress is counted in
    points: tuple[float, ...] = ()  # ascending
    every: float | None = None  # PBT/PB2: every multiple of this...
    start: float = 0.0  # ... from here on

    def next_after(self, progress: float) -> float:
        """The first milestone beyond ``progress``; -inf when there is none (the next result)."""
        if self.every is not None:
            k = math.floor(max(progress, 0.0) / self.every) + 1
            target = k * self.every
            if target < self.start:
                target = math.ceil(self.start / self.every) * self.every
            return target
        i = bisect.bisect_right(self.points, progress)
        return self.points[i] if i < len(self.points) else -math.inf


def milestones(spec: CampaignSpec) -> Milestones:
    s = spec.strategy.scheduler
    if isinstance(s, AshaScheduler):
        return Milestones(s.time_attr, _asha(s.grace_period, s.max_t, s.reduction_factor))
    if isinstance(s, HyperBandScheduler):
        return Milestones(s.time_attr, _hyperband(s.max_t, s.reduction_factor))
    if isinstance(s, PopulationScheduler):
        return Milestones(s.time_attr, every=s.perturbation_interval,
                          start=getattr(s, "burn_in_period", 0.0))
    return Milestones()


def _asha(grace: int, max_t: int, eta: float) -> tuple[float, ...]:
    rungs = int(math.log(max_t / grace) / math.log(eta) + 1)  # Ray's MAX_RUNGS, bracket 0
    points = {float(grace * eta ** k) for k in range(min(rungs, _MAX_POINTS))}
    return tuple(sorted(p for p in points | {float(max_t)} if p <= max_t))


def _hyperband(max_t: int, eta: float) -> tuple[float, ...]:
    brackets = round(math.log(max_t) / math.log(eta)) + 1  # Ray's s_max_1
    points: set[float] = set()
    for s in range(min(brackets, _MAX_POINTS)):
        r = int(max_t * eta ** -s)
        while 0 < r and len(points) < _MAX_POINTS:
            points.add(float(r))
            following = int(min(r * eta, max_t))
            if following <= r:
                break
            r = following
    return tuple(sorted(points | {float(max_t)}))
