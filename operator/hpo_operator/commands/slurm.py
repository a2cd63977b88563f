"""``hpo submit``, ``hpo status`` and ``hpo cancel``: campaigns as Slurm batch jobs.

``submit`` renders the batch script (the same one ``hpo render --backend slurm`` prints), keeps it
with a copy of the manifest and a job record in a fresh run directory, and runs ``sbatch``.
``status`` reads the status file there (the schema of the custom resource's ``.status``) and asks
Slurm about the job; when Slurm says the job ended badly and the file does not, Slurm wins, so a
job killed before it could write anything still reads Failed. ``cancel`` runs scancel and records
the cancellation in the status file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from ..campaign.progress import JsonFileSink
from ..campaign.status import CampaignStatus, Phase
from ..campaign.status_io import read_status_or_none
from ..slurm import jobs
from ..slurm.finalize import mark_failed
from ..slurm.options import SlurmOptionsError, add_slurm_options, options_from_args
from ..slurm.script import plan_job, render_batch_script
from . import CAMPAIGN_FAILED, INVALID_MANIFEST, load_or_report, trial_summary

TIMEOUT_HELP = {
    "status": "with --wait: give up after this many seconds, exit code 124 (default 0: no limit)",
    "cancel": "seconds to wait for the job to end after scancel (default 60)",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="submit a campaign as a Slurm batch job; prints the job id")
    p.add_argument("manifest", metavar="MANIFEST", help="the HPOCampaign YAML file to submit")
    p.add_argument("--backend", choices=("slurm",), default="slurm")
    add_slurm_options(p)
    p.set_defaults(func=submit)
    for name, func, text in (("status", status, "a Slurm campaign's progress and job state"),
                             ("cancel", cancel, "cancel a Slurm campaign; its status says so")):
        q = sub.add_parser(name, help=text)
        q.add_argument("job", metavar="JOBID-or-DIR", help="Slurm job id or run directory")
        q.add_argument("--storage", default=os.environ.get("HPO_STORAGE", "runs"),
                       help="where to look up job ids (default: $HPO_STORAGE or ./runs)")
        q.add_argument("--timeout", type=float, default=60.0 if name == "cancel" else 0.0,
                       help=TIMEOUT_HELP[name])
        if name == "status":
            q.add_argument("--wait", action="store_true", help="wait until the job has ended")
            q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(func=func)


def submit(args: argparse.Namespace) -> int:
    campaign = load_or_report(args.manifest)
    if campaign is None:
        return INVALID_MANIFEST
    try:
        options = options_from_args(args)
        plan = plan_job(campaign, options)
        options.run_dir = plan.run_dir
        script_text = render_batch_script(campaign, options)
    except SlurmOptionsError as exc:
        print(f"hpo submit: {exc}", file=sys.stderr)
        return INVALID_MANIFEST
    try:
        running = jobs.active_jobs(plan.storage, plan.campaign)
    except jobs.SlurmError as exc:
        print(f"hpo submit: {exc}", file=sys.stderr)
        return CAMPAIGN_FAILED
    if running:
        print(f"hpo submit: campaign {plan.campaign} already has Slurm job(s) {', '.join(running)} "
              f"queued or running with storage {plan.storage}; two drivers would share one "
              "experiment. Wait for it, hpo cancel it, or pass another --storage.", file=sys.stderr)
        return CAMPAIGN_FAILED
    created = [d for d in (plan.run_dir, *plan.run_dir.parents) if not d.exists()]
    plan.run_dir.mkdir(parents=True)
    try:
        shutil.copyfile(args.manifest, plan.manifest)  # the job runs this copy, not later edits
        script = plan.run_dir / "campaign.sbatch"
        script.write_text(script_text)
        script.chmod(0o755)
        JsonFileSink(plan.status_file).publish(
            CampaignStatus(phase=Phase.PENDING, message="submitted to Slurm"))
        job_id = jobs.sbatch(script)
    except (jobs.SlurmError, OSError) as exc:
        # Nothing was queued: a run directory left behind would only be an orphan per attempt.
        jobs.remove_run_dir(plan.run_dir, created)
        print(f"hpo submit: {exc}; nothing was submitted (hpo render --backend slurm shows "
              "the batch script)", file=sys.stderr)
        return CAMPAIGN_FAILED
    record = jobs.JobRecord.for_plan(job_id, plan, script)
    record.save()
    print(f"submitted campaign {plan.campaign} as Slurm job {job_id}; run directory "
          f"{plan.run_dir}\n  follow it with: hpo status {job_id} --storage {plan.storage}",
          file=sys.stderr)
    print(job_id)
    return 0


def effective_status(record: jobs.JobRecord, state: jobs.JobState | None) -> CampaignStatus:
    """The status file, corrected by what Slurm knows about how the job ended."""
    status = read_status_or_none(Path(record.status_file))
    if status is not None and status.phase.terminal:
        return status
    if state is not None and state.active:
        return status or CampaignStatus(phase=Phase.PENDING)
    status = status or CampaignStatus()
    if state is None:
        reason, what = "JobNotFound", f"Slurm no longer lists job {record.job_id}"
    else:
        reason = jobs.FAILED_STATES.get(state.state, "JobEndedWithoutStatus")
        what = (f"Slurm job {record.job_id} ended {state.state} (reason {state.reason}, exit "
                f"code {state.exit_code})")
    message = f"{what} before the campaign recorded its end; see {record.output}"
    status.phase, status.message = Phase.FAILED, message
    status.set_condition("Complete", True, reason, message)
    return status


def status(args: argparse.Namespace) -> int:
    try:
        record = jobs.locate(args.job, Path(args.storage).expanduser().resolve())
        state = jobs.job_state(record.job_id)
        deadline = time.monotonic() + args.timeout
        while args.wait and state is not None and state.active:
            if args.timeout and time.monotonic() > deadline:
                print(f"hpo status: job {record.job_id} still {state.state} after "
                      f"{args.timeout:g} s", file=sys.stderr)
                return 124
            time.sleep(2)
            state = jobs.job_state(record.job_id)
    except jobs.SlurmError as exc:
        print(f"hpo status: {exc}", file=sys.stderr)
        return 1
    current = effective_status(record, state)
    if args.json:
        slurm = None if state is None else {"state": state.state, "reason": state.reason,
                                            "exitCode": state.exit_code}
        print(json.dumps({"jobId": record.job_id, "campaign": record.campaign,
                          "runDir": record.run_dir, "slurm": slurm,
                          "status": current.to_dict()}, indent=2))
    else:
        _print_status(record, state, current)
    return 1 if current.phase in (Phase.FAILED, Phase.VALIDATION_FAILED) else 0


def _print_status(record: jobs.JobRecord, state: jobs.JobState | None,
                  current: CampaignStatus) -> None:
    slurm = "unknown to Slurm now" if state is None else \
        f"Slurm {state.state}" + (f" ({state.reason})" if state.reason not in ("", "None") else "")
    print(f"job {record.job_id}, campaign {record.campaign}: {slurm}; "
          f"campaign {current.phase.value}")
    print("\n".join(trial_summary(current)))
    if current.message:
        print(f"  message: {current.message}")
    for cond in current.conditions:
        print(f"  condition {cond.type}={cond.status} {cond.reason}: {cond.message}")
    print(f"  run directory: {record.run_dir}\n  job output: {record.output}")


def cancel(args: argparse.Namespace) -> int:
    try:
        record = jobs.locate(args.job, Path(args.storage).expanduser().resolve())
        state = jobs.job_state(record.job_id)
        if state is not None and not state.active:
            current = effective_status(record, state)
            print(f"job {record.job_id} already ended ({state.state}); campaign "
                  f"{current.phase.value}", file=sys.stderr)
            return 0
        jobs.request_cancel(record)
        jobs.scancel(record.job_id)
        deadline = time.monotonic() + args.timeout
        while state is not None and state.active and time.monotonic() < deadline:
            time.sleep(1)
            state = jobs.job_state(record.job_id)
    except jobs.SlurmError as exc:
        print(f"hpo cancel: {exc}", file=sys.stderr)
        return 1
    if state is not None and state.active:
        print(f"hpo cancel: job {record.job_id} is still {state.state} after {args.timeout:g} s",
              file=sys.stderr)
        return 1
    # The job was cancelled whatever its driver concluded on the way out; a job that completed
    # before the cancellation reached it keeps its own final status.
    force = state is None or state.state == "CANCELLED"
    final = mark_failed(Path(record.status_file), "Cancelled",
                        f"cancelled with hpo cancel (scancel {record.job_id})", force=force)
    print(f"job {record.job_id} {state.state if state else 'ended'}; campaign "
          f"{final.phase.value}: {final.message or ''}")
    return 0
