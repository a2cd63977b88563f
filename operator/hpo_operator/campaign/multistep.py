"""Fitting a MultiStepLR (initial rate, milestones, gamma) to a learning rate per iteration.

The guide found its PBT learning rate "could reasonably be modeled by a multistep scheduler";
this makes that a number a trainer can use. Model, in PyTorch's MultiStepLR semantics where
iteration ``t`` (1-based) trains epoch ``t - 1``::

    lr(t) = initial * gamma ** (number of milestones m with m <= t - 1)

Algorithm (least squares in log space, exhaustive over a small candidate set):

1. Candidates: every iteration ``c`` after which the observed rate changes (milestone ``c``); if
   there are more than :data:`MAX_CANDIDATES`, the ones with the largest jumps.
2. For each set of up to :data:`MAX_MILESTONES` candidates, ``log lr(t) = a + b * k(t)`` is linear
   in ``(a, b)``: solve it in closed form and keep the residual sum of squares.
3. Choose the number of milestones by BIC (``n log(RSS/n) + p log n``), with the residual
   variance floored at a hundredth of a decade so that an exact fit does not buy every extra
   milestone. PBT's explore noise (x0.8, x1.2) then stays in the residual instead of becoming
   milestones.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

MAX_MILESTONES = 3
MAX_CANDIDATES = 20
_VARIANCE_FLOOR = (0.01 * math.log(10)) ** 2


@dataclass(frozen=True)
class MultiStepFit:
    initial: float
    milestones: tuple[int, ...]
    gamma: float
    rms_log10_error: float


def fit_multistep(rates: list[float], max_milestones: int = MAX_MILESTONES) -> MultiStepFit | None:
    """The best MultiStepLR for ``rates[i]`` used at iteration ``i + 1``; None if not fittable."""
    if not rates or any(not (r > 0 and math.isfinite(r)) for r in rates):
        return None
    y = [math.log(r) for r in rates]
    n = len(y)
    jumps = [(abs(y[c] - y[c - 1]), c) for c in range(1, n) if y[c] != y[c - 1]]
    candidates = sorted(c for _, c in sorted(jumps, reverse=True)[:MAX_CANDIDATES])
    best: tuple[float, int, MultiStepFit] | None = None
    for k in range(min(max_milestones, len(candidates)) + 1):
        for milestones in itertools.combinations(candidates, k):
            a, b, rss = _least_squares(y, milestones)
            params = 1 + (2 if k else 0) + k  # level, gamma, and one per milestone
            bic = n * math.log(max(rss / n, _VARIANCE_FLOOR)) + params * math.log(n)
            fit = MultiStepFit(initial=math.exp(a), milestones=milestones, gamma=math.exp(b),
                               rms_log10_error=math.sqrt(rss / n) / math.log(10))
            if best is None or bic < best[0] - 1e-9:
                best = (bic, k, fit)
    return None if best is None else best[2]


def _least_squares(y: list[float], milestones: tuple[int, ...]) -> tuple[float, float, float]:
    """Closed-form fit of ``y[t-1] = a + b * k(t)``, k(t) = milestones passed before iteration t."""
    xs = [sum(1 for m in milestones if m <= t) for t in range(len(y))]  # t here is t-1
    n = len(y)
    mean_x, mean_y = sum(xs) / n, sum(y) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    b = 0.0 if sxx == 0 else sum((x - mean_x) * (v - mean_y) for x, v in zip(xs, y)) / sxx
    a = mean_y - b * mean_x
    rss = sum((v - a - b * x) ** 2 for x, v in zip(xs, y))
    return a, b, rss


def multistep_rates(fit: MultiStepFit, iterations: int) -> list[float]:
    """The rate the fitted schedule gives at iterations 1..iterations (for checks and plots)."""
    return [fit.initial * fit.gamma ** sum(1 for m in fit.milestones if m <= t)
            for t in range(iterations)]
