"""Operator settings: one declared table, read from the environment once, at start-up.

Each field's name in upper case, prefixed ``HPO_``, is its environment variable (the Helm chart sets
them). One generic parser converts by the field's type, so no setting has its own parsing code.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..campaign.manifest import ManifestError
from ..campaign.rules import Problem
from ..campaign.spec import Campaign, bounds
from ..campaign.spec.k8s import ImageReference, MountPath
from ..kuberay.rayjob import ClusterDefaults
from ..kuberay.sizing import sizing_problems

PREFIX = "HPO_"


class ConfigurationError(Exception):
    """A setting's environment variable holds a value of the wrong kind."""


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch (comma-separated); empty: the whole cluster (needs the ClusterRole)."""
    metrics_port: int = 9090
    """Port of the Prometheus /metrics endpoint; 0 disables it."""
    resync_seconds: float = 30.0
    """Re-read every unfinished campaign's children this often, in case a watch event was lost."""
    driver_stall_seconds: float = 600.0
    """Condition DriverStalled once a running driver has published no progress for this long."""
    image: str = ClusterDefaults.image
    """Ray image for campaigns whose spec.resources.cluster.image is empty."""
    ray_version: str = ClusterDefaults.ray_version
    """Ray version inside that image."""
    storage_path: str = ClusterDefaults.storage_path
    """Experiment directory in the Ray pods when a campaign sets no spec.storage.path."""
    deadline_margin_seconds: int = ClusterDefaults.deadline_margin_seconds
    """Seconds added to spec.budget.timeLimit for the RayJob's activeDeadlineSeconds."""
    backoff_limit: int = ClusterDefaults.backoff_limit
    """Driver retries per campaign; each retry resumes the Tune experiment."""
    ttl_seconds_after_finished: int = ClusterDefaults.ttl_seconds_after_finished
    """Seconds KubeRay keeps a finished campaign's Ray cluster around."""
    experiment_checkpoint_seconds: float | None = None
    """Tune experiment-state save period in the driver; unset keeps Tune's automatic period."""
    run_as_user: int | None = None
    """A uid: the Ray pods meet the 'restricted' Pod Security Standard, running as this user."""
    max_workers: int = 64
    """Ray workers a campaign may ask for (spec.resources.cluster.workers); the spec's own cap is
    bounds.MAX_WORKERS."""
    max_cpus_per_pod: float = 128.0
    """CPUs of a campaign's Ray head or worker pod (cpusPerWorker, headCpus)."""
    max_gpus_per_pod: int = 8
    """GPUs of a campaign's Ray worker pod (gpusPerWorker)."""
    kuberay_namespace: str = ClusterDefaults.kuberay_namespace
    """Namespace of the KubeRay operator, whose pods may reach each campaign's Ray dashboard (it
    polls job status there); empty: any namespace."""
    kuberay_pod_labels: tuple[str, ...] = ClusterDefaults.kuberay_pod_labels
    """Labels (key=value, comma-separated) of the KubeRay operator's pods."""

    def __post_init__(self) -> None:
        """Refuse settings that would make objects Kubernetes or KubeRay refuse (int32 fields,
        ports, mount paths) or that the spec's own caps exceed."""
        ranges: dict[str, tuple[float, float]] = {
            "metrics_port": (0, 65_535), "backoff_limit": (0, bounds.INT32_MAX),
            "deadline_margin_seconds": (0, bounds.MAX_DEADLINE_MARGIN_SECONDS),
            "ttl_seconds_after_finished": (0, bounds.INT32_MAX),
            "resync_seconds": (0.001, 86_400), "experiment_checkpoint_seconds": (0.001, 86_400),
            "run_as_user": (0, bounds.INT64_MAX), "max_workers": (0, bounds.MAX_WORKERS),
            "max_cpus_per_pod": (bounds.MIN_POD_CPUS, bounds.MAX_CPUS),
            "max_gpus_per_pod": (0, bounds.MAX_GPUS)}
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and low <= value <= high):
                raise ConfigurationError(f"{PREFIX}{name.upper()} must be between {low} and "
                                         f"{high}, got {value!r}")
        for name, kind in (("storage_path", MountPath), ("image", ImageReference)):
            try:
                TypeAdapter(kind).validate_python(getattr(self, name))
            except ValidationError as exc:
                message = exc.errors()[0]["msg"].removeprefix("Value error, ")
                raise ConfigurationError(f"{PREFIX}{name.upper()}: {message}") from None
        try:
            self.cluster_defaults()  # refused at start-up, not at each campaign
        except ValueError as exc:
            raise ConfigurationError(f"{PREFIX}KUBERAY_NAMESPACE, {PREFIX}KUBERAY_POD_LABELS: "
                                     f"{exc}") from None

    def check_limits(self, campaign: Campaign) -> None:
        """Raise :class:`ManifestError` for a campaign over this installation's limits, or one
        whose trials no pod of its cluster could hold."""
        cluster = campaign.spec.resources.cluster
        over = [Problem(path, f"exceeds this installation's limit of {limit:g} (the chart's "
                              f"campaigns.{chart})", value)
                for path, value, limit, chart in (
                    ("spec.resources.cluster.workers", cluster.workers, self.max_workers,
                     "maxWorkers"),
                    ("spec.resources.cluster.cpusPerWorker", cluster.cpus_per_worker,
                     self.max_cpus_per_pod, "maxCpusPerPod"),
                    ("spec.resources.cluster.headCpus", cluster.head_cpus,
                     self.max_cpus_per_pod, "maxCpusPerPod"),
                    ("spec.resources.cluster.gpusPerWorker", cluster.gpus_per_worker,
                     self.max_gpus_per_pod, "maxGpusPerPod"))
                if value > limit]
        over += sizing_problems(campaign)  # a cluster of these pods could never run a trial
        if over:
            raise ManifestError(over, f"HPOCampaign {campaign.metadata.namespace}/"
                                      f"{campaign.metadata.name}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f, raw.strip())
        return cls(**values)

    def cluster_defaults(self) -> ClusterDefaults:
        shared = {f.name for f in fields(ClusterDefaults)}
        return ClusterDefaults(**{k: v for k, v in dataclasses.asdict(self).items() if k in shared})


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = str(f.type)
    try:
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        return raw
    except ValueError:
        raise ConfigurationError(
            f"{PREFIX}{f.name.upper()} must be {kind.split(' ')[0]}, got {raw!r}") from None
