"""``hpo reproduce STATUS-or-DIR``: train a finished campaign's best trial again and compare."""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..campaign.experiment import STATUS_FILE
from ..campaign.status import CampaignStatus
from ..campaign.status_io import StatusUnreadable, read_status
from . import INVALID_MANIFEST


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="train a campaign's best trial again from its record "
                                         "and compare the metric with the recorded one")
    p.add_argument("status", metavar="STATUS-or-DIR",
                   help="a status file (--status-file, kubectl get -o json .status) or an "
                        "experiment directory")
    p.add_argument("--tolerance", type=float, default=0.01, metavar="REL",
                   help="largest relative difference that counts as reproduced (default 0.01)")
    p.add_argument("--storage", help="where the retrained trial's files go (default: a "
                                     "temporary directory, removed afterwards)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=reproduce)


def reproduce(args: argparse.Namespace) -> int:
    status = _load(Path(args.status))
    if isinstance(status, str):
        print(f"{args.status}: {status}", file=sys.stderr)
        return INVALID_MANIFEST
    best = status.best_trial
    assert best is not None and best.reproduce is not None and status.metric
    from ..driver.reproduce import retrain, versions  # imports Ray only now

    with tempfile.TemporaryDirectory(prefix="hpo-reproduce-") as scratch:
        result = retrain(best.reproduce, best.iteration, args.storage or scratch)
    comparison = compare(status, result, args.tolerance, versions())
    if args.json:
        print(json.dumps(comparison, indent=2))
    else:
        print(describe(comparison))
    return 0 if comparison["reproduced"] else 1


def _load(path: Path) -> CampaignStatus | str:
    """The status to reproduce from, or why there is none to use."""
    try:
        status = read_status(path / STATUS_FILE if path.is_dir() else path)
    except StatusUnreadable as exc:
        return f"not a campaign status: {exc}"
    if status is None:
        return "no such status file or experiment directory"
    if status.best_trial is None:
        return "the campaign has no best trial to reproduce"
    if status.best_trial.reproduce is None:
        return ("the best trial has no reproduction record (bestTrial.reproduce): the campaign "
                "has not ended, or it ended before such records were kept")
    return status


def compare(status: CampaignStatus, result: dict[str, Any], tolerance: float,
            now: dict[str, str]) -> dict[str, Any]:
    """The recorded and the retrained metric, side by side, and what else differs."""
    best = status.best_trial
    assert best is not None and best.reproduce is not None and status.metric
    record = best.reproduce
    value = result.get(status.metric)
    again = float(value) if isinstance(value, (int, float)) else math.nan
    relative = abs(again - best.metric) / max(abs(best.metric), 1e-12)
    fingerprint = result.get("dataset_fingerprint")
    return {
        "metric": status.metric, "iteration": best.iteration, "recorded": best.metric,
        "reproduced_value": again, "relative_difference": relative, "tolerance": tolerance,
        "reproduced": math.isfinite(again) and relative <= tolerance,
        "same_data": (None if record.dataset_fingerprint is None
                      else fingerprint == record.dataset_fingerprint),
        "version_changes": {k: [record.versions[k], now.get(k)] for k in record.versions
                            if record.versions[k] != now.get(k)},
    }


def describe(c: dict[str, Any]) -> str:
    verdict = "reproduced" if c["reproduced"] else "NOT reproduced"
    lines = [f"{c['metric']} at iteration {c['iteration']}: recorded {c['recorded']:.6g}, "
             f"retrained {c['reproduced_value']:.6g} (relative difference "
             f"{c['relative_difference']:.2%}, tolerance {c['tolerance']:.2%}): {verdict}"]
    if c["same_data"] is not None:
        lines.append("  data: the same as recorded" if c["same_data"]
                     else "  data: DIFFERENT from what the campaign trained on")
    for name, (then, now) in c["version_changes"].items():
        lines.append(f"  {name}: {then} then, {now or 'not installed'} now")
    return "\n".join(lines)
