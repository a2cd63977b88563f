"""Subcommands of the ``hpo`` command line, one module each."""

from __future__ import annotations

import sys

from ..campaign.manifest import ManifestError, load_manifest
from ..campaign.spec import Campaign
from ..campaign.status import CampaignStatus

# Exit codes, the same for validate, run, render and submit (README, "Command line"):
OK = 0
CAMPAIGN_FAILED = 1  # the campaign ran and failed, or its backend refused it (sbatch)
INVALID_MANIFEST = 2  # invalid input or usage: a manifest that does not validate, a bad option


def load_or_report(path: str) -> Campaign | None:
    """The campaign in ``path``, or None after printing each problem as ``path: problem``."""
    try:
        return load_manifest(path)
    except ManifestError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return None


def trial_summary(status: CampaignStatus) -> list[str]:
    """The trial counters and the best trial, as every command prints them."""
    t = status.trials
    running = f"{t.running} running, " if t.running else ""
    seconds = status.elapsed_seconds
    elapsed = f"; elapsed {seconds:.1f} s" if seconds is not None else ""
    preempted = f" ({t.preempted} times retried after losing their node)" if t.preempted else ""
    lines = [f"  trials: {t.total} total, {running}{t.completed} completed, {t.stopped} stopped "
             f"early, {t.errored} errored{preempted}{elapsed}"]
    if status.best_trial is not None:
        b = status.best_trial
        lines.append(f"  best {status.metric}: {b.metric:.6g} "
                     f"(trial {b.id}, iteration {b.iteration})")
    return lines
