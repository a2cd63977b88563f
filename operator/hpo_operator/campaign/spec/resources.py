"""Where a campaign runs: the resources of its trials and Ray cluster, and its shared storage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .base import SpecModel
from .units import QUANTITY_PATTERN


class PerTrialResources(SpecModel):
    cpu: float = Field(default=1, gt=0)
    gpu: float = Field(default=0, ge=0)


class Toleration(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class ClusterResources(SpecModel):
    """The Ray cluster a campaign gets on Kubernetes (ignored by the local backend)."""

    image: str | None = Field(default=None, description="Ray image with the trainer installed.")
    workers: int = Field(default=1, ge=0)
    cpus_per_worker: float = Field(default=4, gt=0)
    gpus_per_worker: int = Field(default=0, ge=0)
    memory_per_worker: str = Field(default="8Gi", pattern=QUANTITY_PATTERN)
    head_cpus: float = Field(default=2, gt=0)
    head_memory: str = Field(default="4Gi", pattern=QUANTITY_PATTERN)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)


class Resources(SpecModel):
    per_trial: PerTrialResources = Field(default_factory=PerTrialResources)
    cluster: ClusterResources = Field(default_factory=ClusterResources)


class Storage(SpecModel):
    """Where experiment state lives; on Kubernetes it must outlive the head pod."""

    path: str | None = Field(default=None, description="Absolute path of a directory the Ray "
                             "pods or Slurm nodes share (where volumeClaim is mounted, an NFS "
                             "mount).")
    volume_claim: str | None = Field(default=None, description="PVC mounted at path on Ray pods.")

    @field_validator("path")
    @classmethod
    def _a_shared_directory(cls, path: str | None) -> str | None:
        if path is None:
            return path
        if "://" in path:
            raise ValueError(f"{path!r}: object storage URIs are not supported; mount shared "
                             "storage (a ReadWriteMany volumeClaim, NFS) and give its path")
        if not path.startswith("/"):
            raise ValueError(f"{path!r} must be an absolute path: it is a mount point in the "
                             "Ray pods and the same directory on every Slurm node")
        return path
