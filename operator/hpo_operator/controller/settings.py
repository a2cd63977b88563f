"""Operator settings: one declared table, read from the environment once, at start-up.

Each field's name in upper case, prefixed ``HPO_``, is its environment variable (the Helm chart sets
them). One generic parser converts by the field's type, so no setting has its own parsing code.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..kuberay.rayjob import ClusterDefaults

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
    kuberay_namespace: str = ClusterDefaults.kuberay_namespace
    """Namespace of the KubeRay operator, whose pods may reach each campaign's Ray dashboard (it
    polls job status there); empty: any namespace."""
    kuberay_pod_labels: tuple[str, ...] = ClusterDefaults.kuberay_pod_labels
    """Labels (key=value, comma-separated) of the KubeRay operator's pods."""

    def __post_init__(self) -> None:
        try:
            self.cluster_defaults()  # refused at start-up, not at each campaign
        except ValueError as exc:
            raise ConfigurationError(f"{PREFIX}KUBERAY_NAMESPACE, {PREFIX}KUBERAY_POD_LABELS: "
                                     f"{exc}") from None

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
