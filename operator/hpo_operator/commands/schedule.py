"""``hpo schedule STATUS-or-DIR``: the hyperparameter schedule a PBT/PB2 campaign found.

Prints the best trial's hyperparameters over training (where they change) and the fitted
MultiStepLR as the ``lr_schedule:`` snippet the trainer takes, so that the schedule can be
reused for an ordinary training run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..campaign.schedule import read_schedule
from ..campaign.status import HyperparameterSchedule


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="print the schedule a PBT/PB2 campaign found")
    p.add_argument("source", metavar="STATUS-or-DIR",
                   help="a campaign status file (--status-file) or an experiment directory")
    p.add_argument("--json", action="store_true", help="print the schedule as JSON")
    p.set_defaults(func=show)


def show(args: argparse.Namespace) -> int:
    path = Path(args.source)
    if not path.exists():
        print(f"{path}: no such file or directory", file=sys.stderr)
        return 2
    try:
        schedule = read_schedule(path)
    except (OSError, ValueError) as exc:
        print(f"{path}: cannot read a schedule: {exc}", file=sys.stderr)
        return 2
    if schedule is None:
        print(f"{path}: no schedule: only PBT and PB2 campaigns that succeeded have one",
              file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(schedule.to_dict(), indent=2))
    else:
        print(render(schedule))
    return 0


def render(schedule: HyperparameterSchedule) -> str:
    lines = [f"schedule of trial {schedule.trial_id} over {schedule.iterations} iterations "
             "(following its exploits):"]
    for name, points in schedule.params.items():
        steps = ", ".join(f"{_show(v)} from {it}" for it, v in points)
        lines.append(f"  {name}: {steps}")
    lr = schedule.lr_schedule
    if lr is None:
        return "\n".join(lines)
    milestones = ", ".join(str(m) for m in lr.milestones)
    lines += [
        "",
        f"MultiStepLR fitted to {lr.param} (error {lr.rms_log10_error:.3f} decades rms): "
        f"initial {_show(lr.initial)}, milestones [{milestones}], gamma {_show(lr.gamma)}",
        "",
        "# for the trainer's config (a plain training run with this schedule):",
        f"{lr.param}: {_show(lr.initial)}",
        "lr_schedule:",
        f"  milestones: [{milestones}]",
        f"  gamma: {_show(lr.gamma)}",
    ]
    return "\n".join(lines)


def _show(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
