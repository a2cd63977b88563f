"""Render a campaign's Slurm batch script from ``templates/campaign.sbatch``.

All decisions live in :func:`plan_job` (a plain dataclass the unit tests read), so that the
template stays bash and this module stays Python: nodes, CPUs and GPUs per node and the time limit
come from the options first, then from the campaign (``resources.cluster``, ``budget.timeLimit``).
Values reach the shell through ``shlex.quote`` only.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..campaign.placement import placement_problem
from ..campaign.spec import Campaign
from .options import SlurmOptions, SlurmOptionsError, default_storage, format_slurm_time, \
    parse_slurm_time

PACKAGE_DIR = Path(__file__).resolve().parent
SCRIPTS_DIR = PACKAGE_DIR / "scripts"
TEMPLATE = PACKAGE_DIR / "templates" / "campaign.sbatch"
RUNS_SUBDIR = "_slurm"  # "_" cannot start a campaign name: no clash with experiment directories
STATUS_NAME = "campaign-status.json"
MANIFEST_NAME = "campaign.yaml"


class _Template(string.Template):
    """``@{name}`` placeholders: bash keeps every ``$`` of its own."""

    delimiter = "@"
    idpattern = r"(?!)"  # only the braced form substitutes
    braceidpattern = r"[a-z_]+"


@dataclass
class JobPlan:
    campaign: str
    job_name: str
    nodes: int
    cpus_per_task: int
    gpus_per_node: int
    time_seconds: int | None
    stop_grace: int
    storage: Path
    run_dir: Path
    workdir: Path
    custom_resources: dict[str, float] = field(default_factory=dict)
    """Custom Ray resources each node advertises (``resources.cluster.customPerWorker``)."""

    @property
    def status_file(self) -> Path:
        return self.run_dir / STATUS_NAME

    @property
    def manifest(self) -> Path:
        return self.run_dir / MANIFEST_NAME


def new_run_dir(storage: Path, campaign: str) -> Path:
    """A fresh directory per submission, outside the driver's experiment directory (which the
    driver may move aside when it finds a finished run there)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = storage / RUNS_SUBDIR / campaign
    candidate, n = base / stamp, 1
    while candidate.exists():
        candidate, n = base / f"{stamp}-{n}", n + 1
    return candidate


def plan_job(campaign: Campaign, options: SlurmOptions) -> JobPlan:
    spec = campaign.spec
    cluster, per_trial = spec.resources.cluster, spec.resources.per_trial
    nodes = options.nodes if options.nodes is not None else max(1, cluster.workers)
    cpus = options.cpus_per_task if options.cpus_per_task is not None \
        else math.ceil(cluster.cpus_per_worker)
    gpus = options.gpus_per_node if options.gpus_per_node is not None else cluster.gpus_per_worker
    if nodes < 1 or cpus < 1 or gpus < 0:
        raise SlurmOptionsError(f"need --nodes >= 1, --cpus-per-task >= 1 and --gpus-per-node "
                                f">= 0, got {nodes}, {cpus} and {gpus}")
    if per_trial.cpu > cpus:
        raise SlurmOptionsError(f"a trial needs {per_trial.cpu:g} CPUs (resources.perTrial.cpu) "
                                f"but a node gives Ray {cpus} (--cpus-per-task): "
                                "no trial could start")
    if per_trial.gpu > gpus:
        raise SlurmOptionsError(f"a trial needs {per_trial.gpu:g} GPUs (resources.perTrial.gpu) "
                                f"but a node gets {gpus} (--gpus-per-node): no trial could start")
    custom = dict(cluster.custom_per_worker)
    _check_placement(campaign, nodes, {"CPU": float(cpus), "GPU": float(gpus), **custom})
    if options.time:
        time_seconds: int | None = parse_slurm_time(options.time)
    elif spec.budget.time_limit:
        time_seconds = math.ceil(spec.budget.time_limit + options.time_margin)
    else:
        time_seconds = None
    grace = options.stop_grace if time_seconds is None \
        else max(10, min(options.stop_grace, time_seconds // 4))
    storage = default_storage(options, spec.storage.path)
    name = campaign.metadata.name
    return JobPlan(campaign=name, job_name=options.job_name or name, nodes=nodes,
                   cpus_per_task=cpus, gpus_per_node=gpus, time_seconds=time_seconds,
                   stop_grace=grace, storage=storage,
                   run_dir=options.run_dir or new_run_dir(storage, name), workdir=options.workdir,
                   custom_resources=custom)


def _check_placement(campaign: Campaign, nodes: int, node: dict[str, float]) -> None:
    """Bundles, custom resources and strict strategies against the job's alike nodes. Memory is
    left to the driver's check on the live cluster: Ray measures each node's own."""
    per_trial = campaign.spec.resources.per_trial
    bundles = [{k: v for k, v in bundle.items() if k != "memory"}
               for bundle in per_trial.ray_bundles()]
    why = placement_problem([b for b in bundles if b], per_trial.placement_strategy,
                            [node] * nodes, where=f"the batch job's {nodes} node(s) (--nodes, "
                            "--cpus-per-task, --gpus-per-node, resources.cluster.customPerWorker)")
    if why:
        raise SlurmOptionsError(f"{why}: no trial could start")


def sbatch_lines(plan: JobPlan, options: SlurmOptions) -> list[str]:
    directives = [f"--job-name={plan.job_name}", f"--nodes={plan.nodes}", "--ntasks-per-node=1",
                  f"--cpus-per-task={plan.cpus_per_task}"]
    if plan.gpus_per_node:
        directives.append(f"--gpus-per-node={plan.gpus_per_node}")
    if plan.time_seconds is not None:
        directives.append(f"--time={format_slurm_time(plan.time_seconds)}")
        # The batch shell (B:) hears of the limit first, to stop the campaign and say so.
        directives.append(f"--signal=B:USR1@{plan.stop_grace}")
    for flag, value in (("partition", options.partition), ("account", options.account),
                        ("mem", options.mem)):
        if value:
            directives.append(f"--{flag}={value}")
    directives += [f"--chdir={plan.workdir}", f"--output={plan.run_dir}/slurm-%j.out",
                   *options.sbatch_args]
    for d in directives:
        if re.search(r"\s", d):
            raise SlurmOptionsError(f"#SBATCH {d!r}: Slurm directives cannot hold whitespace "
                                    "(rename the path or value)")
    return [f"#SBATCH {d}" for d in directives]


def _settings(plan: JobPlan, options: SlurmOptions) -> list[str]:
    q = shlex.quote
    lines = [f"HPO_RUN_DIR={q(str(plan.run_dir))}",
             f"HPO_STATUS_FILE={q(str(plan.status_file))}",
             f"HPO_MANIFEST={q(str(plan.manifest))}",
             f"HPO_STORAGE={q(str(plan.storage))}",
             f"HPO_PYTHON={q(options.python)}",
             f"HPO_SCRIPTS={q(str(SCRIPTS_DIR))}",
             f"HPO_NODES={plan.nodes}",
             f"HPO_STOP_GRACE={plan.stop_grace}",
             f"export HPO_RAY_PORT={options.ray_port or 'auto'}",
             f"export HPO_GPUS_PER_NODE={plan.gpus_per_node}",
             f"export HPO_RAY_RESOURCES={q(json.dumps(plan.custom_resources))}",
             f"export HPO_RAY_START_TIMEOUT={options.ray_start_timeout:g}",
             'export HPO_RAY_TEMP_DIR="/tmp/ray-hpo-$SLURM_JOB_ID"']
    if Path(options.python).is_absolute():  # its `ray` and `hpo` come first on PATH
        lines.append(f'export PATH={q(str(Path(options.python).parent))}:"$PATH"')
    return lines


def _env_setup(options: SlurmOptions) -> list[str]:
    lines = []
    for line in options.env_setup:
        if "\n" in line:
            raise SlurmOptionsError(f"--env-setup {line!r}: one shell line per option")
        message = shlex.quote(f"--env-setup line failed: {line}")
        lines.append(f"{line} || hpo_fail EnvironmentSetupFailed {message}")
    return lines or [": # no --env-setup lines"]


def render_batch_script(campaign: Campaign, options: SlurmOptions) -> str:
    """The batch script for ``campaign``; ``options.run_dir`` (set by submit) is where it runs."""
    plan = plan_job(campaign, options)
    values = {"campaign": plan.campaign,
              "sbatch": "\n".join(sbatch_lines(plan, options)),
              "settings": "\n".join(_settings(plan, options)),
              "env_setup": "\n".join(_env_setup(options))}
    text = _Template(TEMPLATE.read_text()).safe_substitute(values)
    left = re.findall(r"@\{[a-z_]+\}", text)
    if left:
        raise RuntimeError(f"template {TEMPLATE} has unknown placeholders: {sorted(set(left))}")
    return text
