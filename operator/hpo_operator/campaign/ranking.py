"""Ranking by the objective: the one definition of "better" for a ``min`` or ``max`` objective."""

from __future__ import annotations

from collections.abc import Iterable

from .status import TrialSummary


def sign(mode: str) -> float:
    """+1 for ``min``, -1 for ``max``: ``sign(mode) * value`` is lower when the value is better."""
    if mode == "min":
        return 1.0
    if mode == "max":
        return -1.0
    raise ValueError(f"objective mode must be 'min' or 'max', not {mode!r}")


def better(a: float, b: float, mode: str) -> bool:
    """Whether ``a`` is strictly better than ``b``."""
    return sign(mode) * a < sign(mode) * b


def best(values: Iterable[float], mode: str) -> float:
    return min(values, key=lambda v: sign(mode) * v)


def top_trials(trials: Iterable[TrialSummary], mode: str, k: int) -> list[TrialSummary]:
    """The ``k`` best distinct trials, best first, each at the best value seen for it."""
    s = sign(mode)
    by_id: dict[str, TrialSummary] = {}
    for trial in trials:
        seen = by_id.get(trial.id)
        if seen is None or s * trial.metric < s * seen.metric:
            by_id[trial.id] = trial
    return sorted(by_id.values(), key=lambda t: s * t.metric)[:k]
