"""Time-to-solution analysis of finished campaigns, the guide's way of comparing strategies.

From each trial's result log it rebuilds, over wall time since the campaign started, the mean and
standard deviation of the best ``top_k`` trials (each trial counted by its best value so far) and
the number of trials run. Time-to-solution is the first time that mean comes within a tolerance
of a reference: the lowest level any compared campaign's top-k mean reached (the curves' floor).

While fewer than ``top_k`` trials have results, the top-k mean is the mean of those there, and
says so: :class:`TopKCurve` carries ``n``, the trials averaged at each time, and
:class:`TopKMean` its ``n`` and ``complete``. Such a mean is an easier one (the best two of two
trials, not of six), so it never sets the reference while any campaign has a complete one, and a
campaign reaches the reference only once its mean covers ``top_k`` trials, or all of its trials
when it never had ``top_k``: one early lucky trial is not a top-k mean. Campaigns compared with
each other are measured by one k (:func:`shared_top_k`): ``top_k``, or fewer when one of them
never had that many trials, so that none gets there sooner for having run fewer.

Results marked ``diverged`` (the CGCNN trainer's, with its finite sentinel value) are not
measurements of the metric and are left out, as are missing and non-finite values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import ranking
from .experiment import MANIFEST_FILE, STATUS_FILE
from .status import CampaignStatus, Phase
from .status_io import StatusUnreadable, read_status


@dataclass
class TrialHistory:
    trial_id: str
    times: list[float]  # seconds since the campaign started
    values: list[float]
    end: float  # when its last result arrived


@dataclass
class CampaignHistory:
    name: str
    mode: str
    metric: str
    trials: list[TrialHistory] = field(default_factory=list)
    status: CampaignStatus | None = None

    @property
    def duration(self) -> float:
        return max((t.end for t in self.trials), default=0.0)

    def best_value(self) -> float | None:
        values = [v for t in self.trials for v in t.values]
        if not values:
            return None
        return ranking.best(values, self.mode)


class NotACampaign(ValueError):
    """A path that holds no campaign to analyse; the message says what was expected."""


EXPECTED = (f"a campaign status JSON file (--status-file, or {STATUS_FILE}) or an experiment "
            "directory written by hpo run (runs/NAME)")


def resolve_experiment(path: str | Path) -> Path:
    """An experiment directory from itself, its status file, or a ``--status-file`` copy."""
    path = Path(path)
    if not path.exists():
        raise NotACampaign(f"{path}: no such file or directory; expected {EXPECTED}")
    if path.is_dir():
        missing = [name for name in (STATUS_FILE, MANIFEST_FILE) if not (path / name).is_file()]
        if missing:
            raise NotACampaign(f"{path} holds no {' or '.join(missing)}: not a campaign "
                               f"directory; expected {EXPECTED}")
        return path
    status = _read_status(path)
    if not status.experiment_path:
        raise NotACampaign(f"{path} does not name its experiment directory (experimentPath): "
                           "the campaign never started")
    if not Path(status.experiment_path).is_dir():
        raise NotACampaign(f"{path} names the experiment directory {status.experiment_path}, "
                           "which does not exist here: pass the directory itself")
    return resolve_experiment(status.experiment_path)


def _read_status(path: Path) -> CampaignStatus:
    try:
        status = read_status(path)
    except StatusUnreadable:  # JSON or schema errors alike: not a status file
        if path.suffix in (".yaml", ".yml"):
            raise NotACampaign(f"{path} looks like a manifest; hpo report reads what hpo run made "
                               f"of one: {EXPECTED}") from None
        raise NotACampaign(f"{path} is not a campaign status file; expected {EXPECTED}") from None
    if status is None:
        raise NotACampaign(f"{path}: no such file or directory; expected {EXPECTED}")
    return status


def load_history(path: str | Path) -> CampaignHistory:
    exp = resolve_experiment(path)
    status = _read_status(exp / STATUS_FILE)
    try:
        objective = json.loads((exp / MANIFEST_FILE).read_text())["spec"]["objective"]
    except (ValueError, KeyError, TypeError):
        raise NotACampaign(f"{exp / MANIFEST_FILE} is not the campaign manifest hpo run "
                           "keeps (no spec.objective)") from None
    rows_by_trial: dict[str, list[dict]] = {}
    for result_file in exp.glob("*/result.json"):
        for line in result_file.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows_by_trial.setdefault(row["trial_id"], []).append(row)
    starts = [r["timestamp"] - r.get("time_total_s", 0.0) for rows in rows_by_trial.values()
              for r in rows[:1]]
    origin = min(starts, default=0.0)
    history = CampaignHistory(name=exp.name, mode=objective["mode"],
                              metric=objective["metric"], status=status)
    for trial_id, rows in sorted(rows_by_trial.items()):
        points = [(r["timestamp"] - origin, float(r[objective["metric"]])) for r in rows
                  if isinstance(r.get(objective["metric"]), (int, float))
                  and math.isfinite(r[objective["metric"]]) and not r.get("diverged")]
        if points:
            times, values = zip(*points)
            history.trials.append(TrialHistory(trial_id, list(times), list(values), max(times)))
    return history


def caveats(history: CampaignHistory, top_k: int = 6) -> list[str]:
    """Why a campaign's time to solution is not comparable with the others', if it is not."""
    notes = []
    phase = history.status.phase if history.status is not None else None
    if phase is not None and not phase.terminal:
        notes.append(f"unfinished ({phase.value})")
    elif phase is Phase.FAILED:
        complete = history.status.condition("Complete")
        notes.append(f"ended Failed ({complete.reason})" if complete else "ended Failed")
    if len(history.trials) < top_k:
        # top_k_curve averages what there is: fewer trials make an easier, different mean
        notes.append(f"{len(history.trials)} trials < top {top_k}: mean of "
                     f"{len(history.trials)}")
    return notes


class TopKCurve(NamedTuple):
    """At each grid time: the mean and std of the best trials, trials finished, and ``n``, the
    trials averaged (``top_k``, or all those with results while they are fewer; 0: none yet)."""

    mean: np.ndarray
    std: np.ndarray
    finished: np.ndarray
    n: np.ndarray


@dataclass(frozen=True)
class TopKMean:
    """A campaign's top-k mean, with how many trials it averages."""

    value: float
    n: int
    top_k: int

    @property
    def complete(self) -> bool:
        """Whether it is a mean of ``top_k`` trials (else of the ``n`` there were)."""
        return self.n >= self.top_k

    def shown(self, digits: int = 4) -> str:
        """``0.0345``, or ``0.0345 (n=4)`` for a mean of fewer than ``top_k`` trials."""
        return f"{self.value:.{digits}f}" + ("" if self.complete else f" (n={self.n})")


def top_k_curve(history: CampaignHistory, grid: np.ndarray, top_k: int = 6) -> TopKCurve:
    """Mean and std of the best ``top_k`` trials (of those there, while fewer have results),
    trials finished and trials averaged, at each grid time."""
    sign = ranking.sign(history.mode)
    best_so_far = np.full((len(history.trials), len(grid)), np.nan)
    for i, trial in enumerate(history.trials):
        running = np.minimum.accumulate(sign * np.asarray(trial.values))
        idx = np.searchsorted(np.asarray(trial.times), grid, side="right") - 1
        valid = idx >= 0
        best_so_far[i, valid] = running[idx[valid]]
    mean = np.full(len(grid), np.nan)
    std = np.full(len(grid), np.nan)
    n = np.zeros(len(grid), dtype=int)
    for j in range(len(grid)):
        column = np.sort(best_so_far[:, j][~np.isnan(best_so_far[:, j])])[:top_k]
        if len(column):
            mean[j], std[j], n[j] = sign * column.mean(), column.std(), len(column)
    finished = np.array([sum(t.end <= g for t in history.trials) for g in grid])
    return TopKCurve(mean, std, finished, n)


def final_top_k_mean(history: CampaignHistory, top_k: int = 6) -> TopKMean | None:
    """The top-k mean at the campaign's end (flagged when of fewer trials); None: no results."""
    curve = top_k_curve(history, np.array([history.duration]), top_k)
    if curve.n[0] == 0:
        return None
    return TopKMean(float(curve.mean[0]), int(curve.n[0]), top_k)


def shared_top_k(histories: list[CampaignHistory], top_k: int = 6) -> int:
    """The k that campaigns compared with each other are all measured by: ``top_k``, or the
    fewest trials with results any of them had, when one had fewer.

    A mean of fewer trials is another, easier statistic, and a campaign that never had ``top_k``
    trials counts only once its mean covers all of them: measured each by its own count, one
    that ran fewer trials would get there sooner for having run them. Campaigns without results
    are left out; they never get there."""
    counts = [len(h.trials) for h in histories if h.trials]
    if not counts:
        raise ValueError("no campaign has results to compare")
    return min(top_k, *counts)


def shared_reference(histories: list[CampaignHistory], top_k: int = 6) -> tuple[int, float]:
    """What campaigns compared with each other are timed against: the k they are all measured
    by (:func:`shared_top_k`) and the lowest top-k mean any of them reached with it."""
    k = shared_top_k(histories, top_k)
    return k, reference_level(histories, k)


def reference_level(histories: list[CampaignHistory], top_k: int = 6) -> float:
    """The best top-k mean any of the campaigns reached by its end; only complete means count
    while any campaign has one (a mean of fewer trials is an easier target)."""
    finals = [f for h in histories if (f := final_top_k_mean(h, top_k)) is not None]
    if not finals:
        raise ValueError("no campaign has results to compare")
    complete = [f for f in finals if f.complete]
    return ranking.best([f.value for f in complete or finals], histories[0].mode)


def time_to_solution(history: CampaignHistory, reference: float, tolerance: float,
                     top_k: int = 6, points: int = 400) -> float | None:
    """First time the top-k mean is within ``tolerance`` (relative) of ``reference``, counting
    only means of ``top_k`` trials (of all the campaign's, when it never had that many)."""
    grid = np.linspace(0.0, max(history.duration, 1e-9), points)
    curve = top_k_curve(history, grid, top_k)
    bound = abs(reference) * tolerance
    sign = ranking.sign(history.mode)
    full = curve.n >= max(1, min(top_k, len(history.trials)))
    ok = sign * curve.mean <= sign * reference + bound
    hits = np.flatnonzero(ok & full)
    return float(grid[hits[0]]) if len(hits) else None


def _draw_curve(ax, grid: np.ndarray, curve: TopKCurve, top_k: int, name: str) -> None:
    """Solid where the mean is of ``top_k`` trials, dotted before (a mean of those there)."""
    complete = curve.n >= top_k
    partial = ~complete
    partial[1:] |= partial[:-1] & complete[1:]  # join the dotted part to the solid one
    line, = ax.plot(grid / 60, np.where(complete, curve.mean, np.nan), label=name)
    ax.plot(grid / 60, np.where(partial, curve.mean, np.nan), ":", color=line.get_color())
    ax.fill_between(grid / 60, curve.mean - curve.std, curve.mean + curve.std, alpha=0.2,
                    color=line.get_color())


def figure_formats() -> list[str]:
    """File extensions the figure can be saved as (matplotlib's, without drawing anything)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def plot(histories: list[CampaignHistory], output: Path, top_k: int = 6,
         title: str = "Time to solution") -> Path:
    """The guide's figure: top-k mean with a std band over wall time, and trials finished."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = max(h.duration for h in histories) or 1.0
    grid = np.linspace(0.0, end, 400)
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.2), width_ratios=[3, 1])
    for h in histories:
        _draw_curve(ax, grid, top_k_curve(h, grid, top_k), top_k, h.name)
    metric = histories[0].metric
    ax.set(xlabel="wall time (min)", ylabel=f"mean {metric} of top {top_k} trials "
           f"(dotted: of fewer)", title=title)
    if all(t.values and min(t.values) > 0 for h in histories for t in h.trials):
        ax.set_yscale("log")  # early values are orders of magnitude above the converged ones
    ax.legend()
    counts = [len(h.trials) for h in histories]
    bars.bar(range(len(histories)), counts, color=[f"C{i}" for i in range(len(histories))])
    bars.set_xticks(range(len(histories)), [h.name for h in histories], rotation=30, ha="right")
    bars.set(title="trials run", ylabel="trials")
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output
