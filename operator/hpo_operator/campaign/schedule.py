"""Schedule extraction: the best PBT/PB2 trial's hyperparameters over training, for reuse.

PBT changes a trial's hyperparameters only when the trial exploits a better one: it restores the
clone's checkpoint (taken at iteration ``c``) and continues from ``c + 1`` with a perturbed copy
of the clone's config. So the schedule that produced the best trial's weights is its lineage:
walk back from the best trial through the exploits that made it, each time switching to the
clone's history up to the checkpoint iteration. The learning-rate part is then fitted with a
MultiStepLR (:mod:`.multistep`) so that a plain training run can reuse it (the trainer's
``lr_schedule: {milestones, gamma}``).

Exploits come from :data:`LINEAGE_FILE` (exact, written by :mod:`.lineage`), else from Tune's
``pbt_global.txt`` (iterations may be one short, trials named by tag: see :mod:`.lineage`).
The driver calls :func:`schedule_hook` once at the end of a campaign. No Ray import here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .multistep import fit_multistep
from .spec import CampaignSpec, ChoiceParam, FloatParam, PopulationScheduler
from .status import HyperparameterSchedule, LrSchedule, TrialSummary

logger = logging.getLogger(__name__)

LINEAGE_FILE = "pbt_lineage.jsonl"
TUNE_POLICY_FILE = "pbt_global.txt"
SCHEDULE_FILE = "schedule.json"
# The status copy of a schedule (schedule.json has all of it): change points in all, shared among
# the hyperparameters, and the fitted learning rate's milestones.
MAX_STATUS_POINTS = 64
MAX_STATUS_MILESTONES = 64
_LR_NAMES = ("lr", "learning_rate", "learningrate")


@dataclass(frozen=True)
class Exploit:
    """``trial`` restored ``clone``'s checkpoint of ``iteration`` and went on with ``config``."""

    trial: str
    clone: str
    iteration: int
    clone_config: dict[str, Any]
    config: dict[str, Any]


def read_exploits(exp_dir: Path, trial_id: str) -> list[Exploit]:
    """Every exploit of the experiment, oldest first ([] when PBT never exploited)."""
    own = exp_dir / LINEAGE_FILE
    if own.exists():
        rows = [json.loads(line) for line in own.read_text().splitlines() if line.strip()]
        return [Exploit(r["trial"], r["clone"], int(r["iteration"]), r["cloneConfig"],
                        r["config"]) for r in rows]
    tune_log = exp_dir / TUNE_POLICY_FILE
    if not tune_log.exists():
        return []
    # Tune names trials by tag "<index>_<params>"; trial ids end in the same zero-padded index.
    prefix = trial_id.rsplit("_", 1)[0]

    def trial_of(tag: str) -> str:
        return f"{prefix}_{int(tag.split('_', 1)[0]):05d}"

    rows = [json.loads(line) for line in tune_log.read_text().splitlines() if line.strip()]
    return [Exploit(trial_of(r[0]), trial_of(r[1]), int(r[3]), r[4], r[5]) for r in rows]


def lineage_segments(exploits: list[Exploit], trial_id: str,
                     config: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``[(first_iteration, config), ...]`` that led to ``trial_id``'s final state.

    ``config`` is the trial's current config; going back, each exploit hands over to the clone's
    own history before it, cut at the checkpoint iteration.
    """
    tail: list[tuple[int, dict[str, Any]]] = []
    before, current, cut = len(exploits), trial_id, None  # cut: last iteration still inherited
    while True:
        index = next((i for i in range(before - 1, -1, -1) if exploits[i].trial == current), None)
        if index is None:
            tail.append((1, config))
            break
        e = exploits[index]
        if cut is None or e.iteration + 1 <= cut:
            tail.append((e.iteration + 1, e.config))
        cut = e.iteration if cut is None else min(cut, e.iteration)
        before, current, config = index, e.clone, e.clone_config
    return list(reversed(tail))


def change_points(segments: list[tuple[int, dict[str, Any]]], params: list[str],
                  iterations: int) -> dict[str, list[list[Any]]]:
    """Per hyperparameter, ``[iteration, value]`` wherever its value changes."""
    points: dict[str, list[list[Any]]] = {p: [] for p in params}
    for start, config in segments:
        if start > iterations:
            continue
        for p in params:
            if p in config and (not points[p] or points[p][-1][1] != config[p]):
                points[p].append([start, config[p]])
    return points


def per_iteration(points: list[list[Any]], iterations: int) -> list[Any]:
    """The value at each iteration 1..iterations from its change points."""
    values: list[Any] = []
    for t in range(1, iterations + 1):
        current = [v for it, v in points if it <= t]
        values.append(current[-1] if current else None)
    return values


def learning_rate_param(spec: CampaignSpec) -> str | None:
    """The searched learning rate: a float or numeric choice named lr, learning_rate, *_lr."""
    for name, param in spec.search_space.items():
        key = name.lower()
        numeric = isinstance(param, FloatParam) or (isinstance(param, ChoiceParam)
                                                    and param.numeric)
        if numeric and (key in _LR_NAMES or key.endswith("_lr") or key.startswith("lr_")):
            return name
    return None


def extract_schedule(exp_dir: Path, trial_id: str, config: dict[str, Any], iterations: int,
                     params: list[str], lr_param: str | None) -> HyperparameterSchedule:
    segments = lineage_segments(read_exploits(exp_dir, trial_id), trial_id, config)
    points = change_points(segments, params, iterations)
    lr = None
    if lr_param and points.get(lr_param):
        rates = [float(v) for v in per_iteration(points[lr_param], iterations)]
        fit = fit_multistep(rates)
        if fit is not None:
            lr = LrSchedule(param=lr_param, initial=fit.initial, milestones=list(fit.milestones),
                            gamma=fit.gamma, rms_log10_error=fit.rms_log10_error)
    return HyperparameterSchedule(trial_id=trial_id, iterations=iterations, params=points,
                                  lr_schedule=lr)


def bounded(schedule: HyperparameterSchedule) -> HyperparameterSchedule:
    """The status copy: at most MAX_STATUS_POINTS change points (the first of each
    hyperparameter's, in equal shares), and the fitted learning rate only if its milestones are
    few enough to be shown whole."""
    share = max(2, MAX_STATUS_POINTS // max(1, len(schedule.params)))
    params = {k: v[:share] for k, v in schedule.params.items()}
    lr = schedule.lr_schedule
    if lr is not None and len(lr.milestones) > MAX_STATUS_MILESTONES:
        lr = None
    return schedule.model_copy(update={"params": params, "lr_schedule": lr})


def schedule_hook(spec: CampaignSpec, experiment_path: str | None,
                  best: TrialSummary | None) -> HyperparameterSchedule | None:
    """The driver's end-of-campaign call: for PBT/PB2, extract, write schedule.json, return it.

    Never raises: a campaign that ran must not fail because its schedule could not be read.
    """
    if not isinstance(spec.strategy.scheduler, PopulationScheduler) or best is None \
            or not experiment_path:
        return None
    exp_dir = Path(experiment_path)
    try:
        schedule = extract_schedule(exp_dir, best.id, best.config, best.iteration,
                                    list(spec.search_space), learning_rate_param(spec))
        (exp_dir / SCHEDULE_FILE).write_text(schedule.model_dump_json(by_alias=True, indent=2))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("could not extract the PBT schedule from %s: %s", exp_dir, exc)
        return None
    return bounded(schedule)


def read_schedule(path: Path) -> HyperparameterSchedule | None:
    """From an experiment directory (its schedule.json) or a status file (its .schedule)."""
    if path.is_dir():
        path = path / SCHEDULE_FILE
        if not path.exists():
            return None
        return HyperparameterSchedule.model_validate_json(path.read_text())
    data = json.loads(path.read_text())
    if data.get("schedule"):
        full = Path(data.get("experimentPath") or "") / SCHEDULE_FILE
        if data.get("experimentPath") and full.exists():  # all change points, not the bounded copy
            return HyperparameterSchedule.model_validate_json(full.read_text())
        return HyperparameterSchedule.model_validate(data["schedule"])
    if data.get("experimentPath") and Path(data["experimentPath"]).is_dir():
        return read_schedule(Path(data["experimentPath"]))
    return None
