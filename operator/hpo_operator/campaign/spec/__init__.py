"""The HPOCampaign spec: one pydantic model, the single source of truth for manifests and the CRD.

Field names are camelCase on the wire (Kubernetes convention) and snake_case in Python. The model
checks shape and per-field meaning; rules that span sections live in :mod:`..rules` so that every
problem of a manifest is reported at once, each with its field path.

The models live in one module per idea: :mod:`.params` (the search space), :mod:`.strategy`
(schedulers and searchers), :mod:`.resources` (resources and storage) and :mod:`.units`
(durations, quantities); this module assembles them and re-exports every name.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .. import ranking
from ..api import API_VERSION, KIND
from . import bounds
from .base import SpecModel
from .k8s import DNS_LABEL_PATTERN
from .params import (
    PARAM_NAME_PATTERN,
    ChoiceParam,
    ChoiceValue,
    Condition,
    FloatParam,
    GridParam,
    HyperparameterRole,
    InitialValues,
    IntParam,
    LeafParam,
    NestedParam,
    NormalParam,
    Param,
    ParamName,
    infer_role,
    leaves,
)
from .resources import Bundle, ClusterResources, PerTrialResources, Resources, Storage, Toleration
from .stopping import Plateau, Stop, Threshold
from .strategy import (
    AshaScheduler,
    AsyncHyperBandScheduler,
    BohbScheduler,
    BohbSearcher,
    DragonflySearcher,
    FifoScheduler,
    GridSearcher,
    HyperBandScheduler,
    HyperOptSearcher,
    MedianStoppingScheduler,
    NevergradSearcher,
    OptunaSearcher,
    Pb2Scheduler,
    PbtScheduler,
    PopulationScheduler,
    RandomSearcher,
    Scheduler,
    Searcher,
    Strategy,
    TuneScheduler,
)
from .tracking import MlflowTracking, SecretKeyRef, Tracking, WandbTracking
from .units import parse_duration
from .values import json_tree

METRIC_PATTERN = r"^[A-Za-z_][A-Za-z0-9_./:-]*$"
ENTRYPOINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"
ConfigKey = Annotated[str, Field(max_length=bounds.MAX_CONFIG_KEY_LENGTH)]

__all__ = [
    "API_VERSION", "KIND", "AshaScheduler", "Bundle", "AsyncHyperBandScheduler", "BohbScheduler",
    "BohbSearcher", "Budget", "Campaign", "CampaignSpec", "Checkpoint", "ChoiceParam",
    "ChoiceValue", "ClusterResources", "DragonflySearcher", "FifoScheduler", "FloatParam",
    "GridSearcher", "HyperBandScheduler", "HyperparameterRole", "InitialValues", "IntParam",
    "Condition", "GridParam", "HyperOptSearcher", "LeafParam", "NestedParam", "NevergradSearcher",
    "NormalParam", "PARAM_NAME_PATTERN", "ParamName", "leaves",
    "MedianStoppingScheduler", "Metadata", "Objective", "OptunaSearcher", "Param",
    "Pb2Scheduler", "PbtScheduler", "PerTrialResources", "Plateau", "PopulationScheduler",
    "RandomSearcher", "Resources", "Runtime", "Scheduler", "Searcher", "SpecModel", "Stop",
    "Storage", "Strategy", "Threshold", "Toleration", "Trainable", "TuneScheduler", "infer_role",
    "parse_duration",
    "MlflowTracking", "SecretKeyRef", "Tracking", "WandbTracking",
]


# --------------------------------------------------------------------------- objective


class Objective(SpecModel):
    metric: str = Field(min_length=1, max_length=bounds.MAX_METRIC_LENGTH,
                        pattern=METRIC_PATTERN,
                        description="Name of the metric the trainable reports.")
    mode: Literal["min", "max"] = Field(description="Whether lower or higher values are better.")
    target: float | None = Field(
        default=None, description="Optional value counted as solved, for time-to-solution."
    )

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` under this objective."""
        return ranking.better(a, b, self.mode)

    def reached(self, value: float) -> bool:
        if self.target is None:
            return False
        return not ranking.better(self.target, value, self.mode)


# --------------------------------------------------------------------------- budget & run


class Budget(SpecModel):
    trials: int = Field(default=16, ge=1, le=bounds.MAX_TRIALS,
                        description="Trials to sample (the grid's repeats for grid).")
    max_concurrent_trials: int | None = Field(default=None, ge=1, le=bounds.MAX_TRIALS)
    time_limit: float | None = Field(
        default=None, le=bounds.MAX_TIME_LIMIT_SECONDS,
        description="Wall-clock limit for the campaign: seconds or '30m', '8h'."
    )
    max_iterations_per_trial: int | None = Field(
        default=None, ge=1, le=bounds.MAX_ITERATIONS,
        description="Stop every trial at this training iteration."
    )
    stop: Stop = Field(default_factory=Stop, description="Stop criteria beside the iteration "
                       "cap: metric thresholds and plateaus per trial, the campaign's target.")
    gpu_hours: float | None = Field(
        default=None, gt=0, le=bounds.MAX_RESOURCE_HOURS,
        description="GPU-hours the campaign may spend: each trial's resources.perTrial.gpu times "
        "its running time, summed. Once spent, no trial starts (see onExhausted).")
    cpu_hours: float | None = Field(
        default=None, gt=0, le=bounds.MAX_RESOURCE_HOURS,
        description="CPU-hours the campaign may spend, counted as gpuHours from perTrial.cpu.")
    on_exhausted: Literal["finishRung", "stopNow"] = Field(
        default="finishRung", description="When a budget is spent: finishRung lets each running "
        "trial reach its next scheduler milestone (ASHA rung, HyperBand milestone, PBT "
        "perturbation; the next iteration for other schedulers); stopNow stops them at once.")

    @field_validator("time_limit", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @property
    def hours_limited(self) -> bool:
        """Whether the campaign has a budget in resource-hours (gpuHours or cpuHours)."""
        return self.gpu_hours is not None or self.cpu_hours is not None


class Trainable(SpecModel):
    entrypoint: str = Field(
        pattern=ENTRYPOINT_PATTERN, max_length=bounds.MAX_ENTRYPOINT_LENGTH,
        description="module:attribute of a Ray Tune function or class trainable.",
    )
    config: dict[ConfigKey, Any] = Field(default_factory=dict, max_length=bounds.MAX_CONFIG_KEYS,
                                         description="Fixed values for every trial.")

    @field_validator("config")
    @classmethod
    def _json(cls, config: dict[str, Any]) -> dict[str, Any]:
        return json_tree(config)


class Checkpoint(SpecModel):
    """The guide: checkpoint as little as the strategy allows."""

    frequency: int = Field(
        default=0, ge=0, le=bounds.MAX_ITERATIONS,
        description="Iterations between checkpoints; 0 = only when the scheduler needs them."
    )
    at_end: bool = False
    keep: int = Field(default=1, ge=1, le=100)
    score_attribute: str | None = Field(
        default=None, max_length=bounds.MAX_METRIC_LENGTH,
        description="Rank checkpoints by this reported metric (Ray Tune's "
        "checkpoint_score_attribute): keep the best, not the latest.")
    score_order: Literal["min", "max"] | None = Field(
        default=None, description="Whether a lower or higher scoreAttribute is better; default: "
        "the objective's mode when scoreAttribute is the objective's metric, else max (Ray's).")

    def resolved_score_order(self, objective: Objective) -> str:
        if self.score_order is not None:
            return self.score_order
        return objective.mode if self.score_attribute == objective.metric else "max"


class Runtime(SpecModel):
    fail_fast: bool = Field(default=True, description="End the campaign at the first trial error.")
    reuse_actors: bool | None = Field(
        default=None, description="Reuse trial actors; default: when the trainable has reset_config."
    )
    max_trial_retries: int = Field(default=0, ge=0, le=100,
                                   description="Retries of a failed trial (a trial whose node "
                                   "went away is retried without using one).")
    trial_pending_seconds: float = Field(
        default=300.0, le=bounds.MAX_TIME_LIMIT_SECONDS,
        description="Condition TrialsPending once a trial has waited this long to start: "
        "seconds or '10m'.")
    trial_stall_factor: float = Field(
        default=10.0, ge=2, le=bounds.MAX_STALL_FACTOR,
        description="Condition TrialStalled once a running trial has reported nothing for this "
        "many times its usual iteration time (and at least trialStallMinSeconds).")
    trial_stall_min_seconds: float = Field(
        default=60.0, le=bounds.MAX_TIME_LIMIT_SECONDS,
        description="The least silence that TrialStalled calls a stall: seconds or '5m'.")

    @field_validator("trial_pending_seconds", "trial_stall_min_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class CampaignSpec(SpecModel):
    objective: Objective
    search_space: dict[ParamName, Param] = Field(min_length=1, max_length=bounds.MAX_PARAMETERS)
    strategy: Strategy = Field(default_factory=Strategy)
    budget: Budget = Field(default_factory=Budget)
    trainable: Trainable
    resources: Resources = Field(default_factory=Resources)
    checkpoint: Checkpoint = Field(default_factory=Checkpoint)
    runtime: Runtime = Field(default_factory=Runtime)
    storage: Storage = Field(default_factory=Storage)
    tracking: Tracking = Field(default_factory=Tracking, description="Experiment trackers the "
                               "trials are also logged to (MLflow, W&B); TensorBoard logs are "
                               "always written.")

    @model_validator(mode="after")
    def _fits_a_configmap(self) -> CampaignSpec:
        size = len(json.dumps(self.model_dump(mode="json", by_alias=True, exclude_none=True)))
        if size > bounds.MAX_SPEC_BYTES:
            raise ValueError(f"is {size // 1024} KiB as JSON, more than the "
                             f"{bounds.MAX_SPEC_BYTES // 1024} KiB a spec may take (it travels "
                             "to the Ray head in a ConfigMap)")
        return self


class Metadata(BaseModel):
    """The manifest's metadata: name and namespace, and the other fields of Kubernetes'
    ObjectMeta (accepted, not used: a manifest exported from a cluster has them). Anything else
    is an error, as everywhere in the manifest."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              strict=True)
    # KubeRay's rule for a RayJob name (a DNS-1035 label of at most 47 characters, room for the
    # suffixes of its RayCluster and pods), less the "-tune" the RayJob adds.
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=42)
    namespace: str = Field(default="default", pattern=DNS_LABEL_PATTERN,
                           max_length=bounds.MAX_DNS_LABEL)
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    uid: str | None = None
    generate_name: Any = None
    resource_version: Any = None
    generation: Any = None
    creation_timestamp: Any = None
    deletion_timestamp: Any = None
    deletion_grace_period_seconds: Any = None
    finalizers: Any = None
    owner_references: Any = None
    managed_fields: Any = None
    self_link: Any = None


class Campaign(BaseModel):
    """A whole HPOCampaign manifest (with the status, if it was exported from a cluster)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    api_version: Literal[API_VERSION] = Field(alias="apiVersion")  # type: ignore[valid-type]
    kind: Literal[KIND]  # type: ignore[valid-type]
    metadata: Metadata
    spec: CampaignSpec
    status: Any = None
