"""The last word on a Slurm job's status file: ``python -m hpo_operator.slurm.finalize``.

The driver writes the status while it runs and when it ends, but a job can fail where no driver
ever ran (a broken environment, a Ray head that never came up) or be killed mid-campaign (the time
limit, ``scancel``). The batch script's exit trap calls this so that the status then says Failed
and why, keeping whatever progress the driver had published. ``hpo cancel`` uses it too.
It imports no Ray: it must work in an environment too broken to run a campaign.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..campaign.status import CampaignStatus, Phase, now_iso
from ..campaign.status_io import read_status_or_none, write_status


def mark_failed(path: Path, reason: str, message: str, *, force: bool = False) -> CampaignStatus:
    """Write phase Failed with ``reason``; a status already final is kept unless ``force``.

    ``force`` is for outcomes the driver cannot know about: the job was cancelled or hit its time
    limit, so a driver that concluded "Succeeded" on being interrupted must not have the last word.
    """
    status = read_status_or_none(path)  # an unreadable one is replaced: this is the last word
    if status is not None and status.phase.terminal and not force:
        return status
    status = status or CampaignStatus()
    status.phase = Phase.FAILED
    status.message = message
    status.completion_time = now_iso()
    status.trials.running = 0
    status.set_condition("Complete", True, reason, message)
    write_status(path, status)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpo_operator.slurm.finalize",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("status_file", type=Path)
    parser.add_argument("--reason", required=True, help="CamelCase reason, e.g. RayHeadFailed")
    parser.add_argument("--message", default="", help="what happened, for people")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a final phase too (cancellation, time limit)")
    args = parser.parse_args(argv)
    status = mark_failed(args.status_file, args.reason, args.message, force=args.force)
    print(f"hpo: status {status.phase.value}: {status.message or ''}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
