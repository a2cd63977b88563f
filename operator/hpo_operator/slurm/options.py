"""What a user may choose about a Slurm job, on top of the campaign, and Slurm's time formats.

``hpo render --backend slurm`` and ``hpo submit --backend slurm`` share these options, so that a
dry run prints exactly the script a submission would get. Every option left unset falls back to
the campaign (``resources``, ``budget.timeLimit``) in :mod:`.script`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..campaign.spec import parse_duration

# Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_SLURM_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


class SlurmOptionsError(ValueError):
    """An option, or the campaign with these options, cannot make a valid job."""


@dataclass
class SlurmOptions:
    nodes: int | None = None
    partition: str | None = None
    account: str | None = None
    time: str | None = None  # as the user wrote it; normalised by slurm_time()
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    job_name: str | None = None
    workdir: Path = field(default_factory=Path.cwd)
    storage: str | None = None
    python: str = sys.executable
    env_setup: list[str] = field(default_factory=list)
    sbatch_args: list[str] = field(default_factory=list)
    ray_port: int | None = None  # None: a free port on the head node
    ray_start_timeout: float = 180.0
    time_margin: float = 600.0  # startup and teardown added to budget.timeLimit
    stop_grace: int = 90  # seconds before the limit at which the campaign is stopped
    run_dir: Path | None = None  # set by submit; render shows where it would go


def add_slurm_options(parser: argparse.ArgumentParser) -> None:
    """The Slurm knobs, added to ``render`` and ``submit`` alike."""
    g = parser.add_argument_group("Slurm (--backend slurm)")
    g.add_argument("--nodes", type=int, help="nodes; each runs one Ray node, the first also the "
                   "head and the driver (default: spec.resources.cluster.workers, at least 1)")
    g.add_argument("--partition", help="Slurm partition")
    g.add_argument("--account", help="Slurm account to charge")
    g.add_argument("--time", help="time limit: Slurm format (minutes, H:M:S, D-H:M:S) or 30m/8h "
                   "(default: budget.timeLimit plus --time-margin; none: the partition's)")
    g.add_argument("--gpus-per-node", type=int,
                   help="GPUs per node (default: spec.resources.cluster.gpusPerWorker)")
    g.add_argument("--cpus-per-task", type=int,
                   help="CPUs per node for Ray (default: spec.resources.cluster.cpusPerWorker)")
    g.add_argument("--mem", help="memory per node, Slurm format (e.g. 32G)")
    g.add_argument("--job-name", help="Slurm job name (default: the campaign's name)")
    g.add_argument("--workdir", type=Path, default=None,
                   help="the job's working directory (default: the current directory)")
    g.add_argument("--storage", default=None, help="experiment storage, on a filesystem the "
                   "nodes share (default: spec.storage.path, $HPO_STORAGE or WORKDIR/runs)")
    g.add_argument("--python", default=sys.executable,
                   help="Python that runs hpo on the nodes (default: this one, %(default)s)")
    g.add_argument("--env-setup", action="append", default=[], metavar="LINE",
                   help="shell line run before anything else, e.g. 'module load cuda' or "
                   "'source /path/venv/bin/activate' (repeatable)")
    g.add_argument("--sbatch-arg", dest="sbatch_args", action="append", default=[],
                   metavar="ARG", help="extra #SBATCH argument, e.g. --qos=debug (repeatable)")
    g.add_argument("--ray-port", type=int, default=None,
                   help="Ray head port (default: a free port on the head node)")
    g.add_argument("--ray-start-timeout", type=float, default=180.0,
                   help="seconds the head and workers may take to be ready (default 180)")
    g.add_argument("--time-margin", default="10m",
                   help="added to budget.timeLimit for startup and teardown (default 10m)")


def options_from_args(args: argparse.Namespace) -> SlurmOptions:
    try:
        margin = parse_duration(args.time_margin)
    except ValueError as exc:
        raise SlurmOptionsError(f"--time-margin: {exc}") from None
    workdir = (args.workdir or Path.cwd()).expanduser().resolve()
    return SlurmOptions(
        nodes=args.nodes, partition=args.partition, account=args.account, time=args.time,
        gpus_per_node=args.gpus_per_node, cpus_per_task=args.cpus_per_task, mem=args.mem,
        job_name=args.job_name, workdir=workdir, storage=args.storage, python=args.python,
        env_setup=list(args.env_setup), sbatch_args=list(args.sbatch_args),
        ray_port=args.ray_port, ray_start_timeout=args.ray_start_timeout, time_margin=margin)


def parse_slurm_time(value: str) -> int:
    """Seconds from Slurm's formats (a bare number is minutes, as sbatch reads it) or 30m/8h."""
    text = value.strip()
    match = _SLURM_TIME.match(text)
    if match:
        days, first, second, third = (int(g) if g else None for g in match.groups())
        if days is not None:  # D-H, D-H:M, D-H:M:S
            seconds = days * 86400 + first * 3600 + (second or 0) * 60 + (third or 0)
        elif third is not None:  # H:M:S
            seconds = first * 3600 + (second or 0) * 60 + third
        elif second is not None:  # M:S
            seconds = first * 60 + second
        else:  # M
            seconds = first * 60
    else:
        try:
            seconds = math.ceil(parse_duration(text))
        except ValueError:
            raise SlurmOptionsError(
                f"--time {value!r}: expected minutes, H:M:S, D-H:M:S or a duration such as "
                "'90m' or '8h'") from None
    if seconds <= 0:
        raise SlurmOptionsError(f"--time {value!r} must be positive")
    return seconds


def format_slurm_time(seconds: float) -> str:
    """Slurm's D-HH:MM:SS (HH:MM:SS under a day), rounded up to the minute Slurm counts in."""
    minutes = max(1, math.ceil(seconds / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    clock = f"{hours:02d}:{mins:02d}:00"
    return f"{days}-{clock}" if days else clock


def default_storage(options: SlurmOptions, spec_path: str | None) -> Path:
    """Absolute storage: the nodes resolve paths from the job's directory, not the submitter's."""
    chosen = options.storage or spec_path or os.environ.get("HPO_STORAGE")
    if chosen and "://" in chosen:
        raise SlurmOptionsError(
            f"storage {chosen!r} is a URI; on Slurm the status file and experiment need a path on "
            "a filesystem the nodes share: pass --storage DIR")
    path = Path(chosen).expanduser() if chosen else options.workdir / "runs"
    return path if path.is_absolute() else (options.workdir / path).resolve()
