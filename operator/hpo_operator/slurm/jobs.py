"""Slurm jobs from Python: submit, look up, cancel, and the job record that ties a job id to its
run directory (batch script, manifest copy, status file, output).

Only the Slurm client commands are used (sbatch, scontrol, scancel), so this works wherever a user
can submit; no accounting database (sacct) is assumed. Slurm 22.05 notes: ``squeue --json``
ignores ``-j``, and JSON exit codes are raw wait statuses, so the text of ``scontrol show job -o``
is what is parsed here; finished jobs stay visible there for MinJobAge only, which is why the
status file, not Slurm, is the lasting record.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from ..campaign.status import now_iso
from .script import RUNS_SUBDIR, JobPlan

RECORD_NAME = "job.json"
CANCEL_MARKER = "cancel-requested"

# Slurm's final states that mean the campaign did not end by itself, and the status reason each
# becomes when the status file does not already say so.
FAILED_STATES = {"FAILED": "SlurmJobFailed", "TIMEOUT": "TimeLimit", "CANCELLED": "Cancelled",
                 "NODE_FAIL": "NodeFailure", "OUT_OF_MEMORY": "OutOfMemory",
                 "BOOT_FAIL": "NodeFailure", "DEADLINE": "TimeLimit", "PREEMPTED": "Preempted"}
ACTIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                 "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"}


class SlurmError(RuntimeError):
    """A Slurm command failed or a job cannot be found; the message says which and why."""


@dataclass
class JobRecord:
    job_id: str
    campaign: str
    run_dir: str
    status_file: str
    script: str
    manifest: str
    storage: str
    submitted_at: str

    @property
    def output(self) -> Path:
        return Path(self.run_dir) / f"slurm-{self.job_id}.out"

    def save(self) -> Path:
        path = Path(self.run_dir) / RECORD_NAME
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> JobRecord:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise SlurmError(f"cannot read the job record {path}: {exc}") from None

    @classmethod
    def for_plan(cls, job_id: str, plan: JobPlan, script: Path) -> JobRecord:
        return cls(job_id=job_id, campaign=plan.campaign, run_dir=str(plan.run_dir),
                   status_file=str(plan.status_file), script=str(script),
                   manifest=str(plan.manifest), storage=str(plan.storage), submitted_at=now_iso())


@dataclass
class JobState:
    state: str  # PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
    reason: str
    exit_code: str  # "code:signal", as scontrol prints it

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise SlurmError(f"{cmd[0]} not found: is this a Slurm login node (or is Slurm's client "
                         "installed and on PATH)?") from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{shlex.join(cmd)} did not answer within 60 s") from None


def sbatch(script: Path) -> str:
    """Submit ``script``; the job id."""
    proc = _run(["sbatch", "--parsable", str(script)])
    if proc.returncode != 0:
        raise SlurmError(f"sbatch rejected the job: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip().split(";")[0]  # "ID" or "ID;CLUSTER"


def remove_run_dir(run_dir: Path, created: list[Path]) -> None:
    """Remove the run directory of a job that was never queued, then those of ``created`` (the
    directories made along with it, nearest first) that it leaves empty."""
    shutil.rmtree(run_dir, ignore_errors=True)
    for directory in (d for d in created if d != run_dir):
        try:
            directory.rmdir()
        except OSError:  # holds other runs now: not ours to remove
            return


def job_state(job_id: str) -> JobState | None:
    """What Slurm says about the job, or None when it no longer knows it (after MinJobAge)."""
    proc = _run(["scontrol", "show", "job", "-o", job_id])
    if proc.returncode != 0 or "JobState=" not in proc.stdout:
        return None
    fields = dict(tok.split("=", 1) for tok in proc.stdout.split() if "=" in tok)
    return JobState(state=fields.get("JobState", "UNKNOWN"), reason=fields.get("Reason", ""),
                    exit_code=fields.get("ExitCode", ""))


def scancel(job_id: str) -> None:
    proc = _run(["scancel", job_id])
    if proc.returncode != 0:
        raise SlurmError(f"scancel {job_id} failed: {proc.stderr.strip()}")


def locate(ref: str, storage: Path) -> JobRecord:
    """The job record for a run directory, a job.json, or a job id (searched under ``storage``,
    then through Slurm, whose record names the batch script in the run directory)."""
    path = Path(ref).expanduser()
    if path.is_dir() and (path / RECORD_NAME).is_file():
        return JobRecord.load(path / RECORD_NAME)
    if path.is_file() and path.name == RECORD_NAME:
        return JobRecord.load(path)
    if not ref.isdigit():
        raise SlurmError(f"{ref!r} is neither a Slurm job id nor a run directory "
                         f"with {RECORD_NAME}")
    for record_path in sorted((storage / RUNS_SUBDIR).glob(f"*/*/{RECORD_NAME}")):
        try:
            if json.loads(record_path.read_text()).get("job_id") == ref:
                return JobRecord.load(record_path)
        except (OSError, ValueError):
            continue
    proc = _run(["scontrol", "show", "job", "-o", ref])
    fields = dict(tok.split("=", 1) for tok in proc.stdout.split() if "=" in tok)
    command = fields.get("Command")
    if proc.returncode == 0 and command and (Path(command).parent / RECORD_NAME).is_file():
        return JobRecord.load(Path(command).parent / RECORD_NAME)
    raise SlurmError(f"no hpo job record for job {ref} under {storage / RUNS_SUBDIR}, and Slurm "
                     "does not know it (pass --storage, or the run directory)")


def active_jobs(storage: Path, campaign: str) -> list[str]:
    """Ids of this campaign's jobs under ``storage`` still queued or running: a second job would
    share the experiment directory with them, and two drivers on one experiment corrupt it."""
    from ..campaign.status_io import read_status_or_none

    active = []
    for record_path in sorted((storage / RUNS_SUBDIR / campaign).glob(f"*/{RECORD_NAME}")):
        try:
            record = JobRecord.load(record_path)
        except SlurmError:
            continue
        status = read_status_or_none(Path(record.status_file))
        if status is not None and status.phase.terminal:
            continue  # ended, as far as its own status knows: no need to ask Slurm
        state = job_state(record.job_id)
        if state is not None and state.active:
            active.append(record.job_id)
    return active


def request_cancel(record: JobRecord) -> None:
    """Leave the marker the batch script's exit trap reads, so the job itself says Cancelled."""
    (Path(record.run_dir) / CANCEL_MARKER).write_text(now_iso() + "\n")
