"""The HPOCampaign spec: one pydantic model, the single source of truth for manifests and the CRD.

Field names are camelCase on the wire (Kubernetes convention) and snake_case in Python. The model
checks shape and per-field meaning; rules that span sections live in :mod:`.rules` so that every
problem of a manifest is reported at once, each with its field path.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

API_VERSION = "hpo.dev/v1alpha1"
KIND = "HPOCampaign"

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")


class _Model(BaseModel):
    """Strict base: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def parse_duration(value: Any) -> float:
    """Seconds from ``3600``, ``"90s"``, ``"30m"``, ``"8h"`` or ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '30m' or '8h', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ValueError(f"expected a duration such as '90s', '30m' or '8h', got {value!r}")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


# --------------------------------------------------------------------------- objective


class Objective(_Model):
    metric: str = Field(min_length=1, description="Name of the metric the trainable reports.")
    mode: Literal["min", "max"] = Field(description="Whether lower or higher values are better.")
    target: float | None = Field(
        default=None, description="Optional value counted as solved, for time-to-solution."
    )

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` under this objective."""
        return a < b if self.mode == "min" else a > b

    def reached(self, value: float) -> bool:
        if self.target is None:
            return False
        return value <= self.target if self.mode == "min" else value >= self.target


# --------------------------------------------------------------------------- search space

HyperparameterRole = Literal["algorithm", "model"]


class _Param(_Model):
    role: HyperparameterRole | None = Field(
        default=None,
        description=(
            "algorithm (learning process: lr, batch size, momentum...) or model (architecture). "
            "Inferred from the name when absent; PBT may mutate algorithm hyperparameters only."
        ),
    )


class FloatParam(_Param):
    type: Literal["float"]
    min: float
    max: float
    log: bool = False

    @model_validator(mode="after")
    def _check_range(self) -> FloatParam:
        _check_numeric_range(self.min, self.max, self.log)
        return self


class IntParam(_Param):
    type: Literal["int"]
    min: int
    max: int
    log: bool = False

    @model_validator(mode="after")
    def _check_range(self) -> IntParam:
        _check_numeric_range(self.min, self.max, self.log)
        return self


ChoiceValue = Union[bool, int, float, str]


class ChoiceParam(_Param):
    type: Literal["choice"]
    values: list[ChoiceValue]

    @field_validator("values")
    @classmethod
    def _non_empty_unique(cls, values: list[ChoiceValue]) -> list[ChoiceValue]:
        if not values:
            raise ValueError("a choice needs at least one value")
        seen: list[ChoiceValue] = []
        for v in values:
            if v in seen:
                raise ValueError(f"duplicate value {v!r}")
            seen.append(v)
        return values

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


def _check_numeric_range(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"min and max must be finite, got min={low}, max={high}")
    if low >= high:
        raise ValueError(f"min must be less than max, got min={low}, max={high}")
    if log and low <= 0:
        raise ValueError(f"a log range needs min > 0, got min={low}")


Param = Annotated[Union[FloatParam, IntParam, ChoiceParam], Field(discriminator="type")]

# Names that set the learning process, not the network: PBT may change these mid-training.
_ALGORITHM_WORDS = ("lr", "learning_rate", "momentum", "batch_size", "weight_decay", "beta",
                    "eps", "dropout", "gamma", "warmup", "clip", "temperature", "decay")
# Names that fix the architecture: exploit copies weights, so these must match across trials.
_MODEL_WORDS = ("layer", "embedding", "hidden", "width", "depth", "size", "units", "channel",
                "feat", "head", "kernel", "dim", "block", "filter", "neuron")


def infer_role(name: str, param: Param) -> HyperparameterRole | None:
    """The role of a hyperparameter: declared, or guessed from its name (None when unknown)."""
    if param.role is not None:
        return param.role
    key = name.lower()
    if any(key == w or key.startswith(w + "_") or key.endswith("_" + w) for w in _ALGORITHM_WORDS):
        return "algorithm"
    if any(w in key for w in _MODEL_WORDS):
        return "model"
    return None


# --------------------------------------------------------------------------- strategy
# Schedulers decide when a trial stops or pauses; searchers decide which configuration comes next.
# Every setting has a default that works for a small campaign; rules.py checks them against the
# budget (e.g. gracePeriod <= maxT) and against each other (bohb searcher <-> bohb scheduler).


class FifoScheduler(_Model):
    """No early stopping: every trial runs to the iteration limit."""

    type: Literal["fifo"]


class AshaScheduler(_Model):
    """Asynchronous successive halving (the guide's default)."""

    type: Literal["asha"]
    max_t: int = Field(default=50, ge=1, description="Iterations a trial may reach at most.")
    grace_period: int = Field(default=1, ge=1, description="Iterations before a trial may stop.")
    reduction_factor: float = Field(default=3, gt=1, description="Keep the top 1/eta per rung.")
    brackets: int = Field(default=1, ge=1)


class AsyncHyperBandScheduler(AshaScheduler):
    """Asynchronous HyperBand: ASHA over several brackets."""

    type: Literal["async_hyperband"]  # type: ignore[assignment]
    brackets: int = Field(default=3, ge=1)


class HyperBandScheduler(_Model):
    """Synchronous HyperBand."""

    type: Literal["hyperband"]
    max_t: int = Field(default=50, ge=1)
    reduction_factor: float = Field(default=3, gt=1)


class BohbScheduler(HyperBandScheduler):
    """HyperBand for BOHB: the synchronous HyperBand variant that the bohb searcher needs."""

    type: Literal["bohb"]  # type: ignore[assignment]


class MedianStoppingScheduler(_Model):
    type: Literal["median"]
    grace_period: int = Field(default=1, ge=1)
    min_samples_required: int = Field(default=3, ge=1)


class PopulationScheduler(_Model):
    """What PBT and PB2 share: a population that exploits its best members' checkpoints."""

    perturbation_interval: int = Field(default=4, ge=1, description="Iterations between exploits.")
    quantile_fraction: float = Field(default=0.25, gt=0, le=0.5)
    synch: bool = Field(
        default=False,
        description="Exploit only when every trial has reached the same iteration: fair "
        "comparisons when trials run at uneven speeds, at the cost of pausing them all.")
    seed: int | None = Field(
        default=None,
        description="Seeds the exploit and explore draws (default: the searcher's seed). With "
        "synch, the same seed and the same trial results make the same exploits.")


class PbtScheduler(PopulationScheduler):
    """Population based training: exploit better trials' checkpoints, explore their config."""

    type: Literal["pbt"]
    resample_probability: float = Field(default=0.25, ge=0, le=1)
    perturbation_factors: list[float] = Field(
        default_factory=lambda: [1.2, 0.8], min_length=2, max_length=2,
        description="Explore multiplies a float or int by one of these: one above 1, one below. "
        "Wider factors (e.g. [3, 0.33]) let PBT follow a learning rate across decades.")

    @field_validator("perturbation_factors")
    @classmethod
    def _up_and_down(cls, factors: list[float]) -> list[float]:
        up, down = max(factors), min(factors)
        if not (up > 1 and 0 < down < 1):
            raise ValueError(f"need one factor above 1 and one in (0, 1), got {list(factors)}")
        return factors


class Pb2Scheduler(PopulationScheduler):
    """Population based bandits: PBT whose explore step is a GP-UCB bandit over numeric bounds."""

    type: Literal["pb2"]


Scheduler = Annotated[
    Union[FifoScheduler, AshaScheduler, AsyncHyperBandScheduler, HyperBandScheduler,
          BohbScheduler, MedianStoppingScheduler, PbtScheduler, Pb2Scheduler],
    Field(discriminator="type"),
]


class _WarmStart(_Model):
    points_to_evaluate: list[dict[str, Any]] = Field(
        default_factory=list, description="Known configurations tried first (warm start).")


class RandomSearcher(_WarmStart):
    type: Literal["random"]
    seed: int | None = None


class GridSearcher(_Model):
    """Every combination of the choice parameters."""

    type: Literal["grid"]


class OptunaSearcher(_WarmStart):
    """Optuna through Ray Tune: TPE by default, its Gaussian-process sampler for small budgets."""

    type: Literal["optuna"]
    sampler: Literal["tpe", "gp"] = "tpe"
    seed: int | None = None
    n_startup_trials: int | None = Field(
        default=None, ge=1,
        description="Random trials before the model takes over; default: a third of "
        "spec.budget.trials, at most 10 (Optuna's own default).")

    def startup_trials(self, budget_trials: int) -> int:
        """The start-up phase actually used: explicit, else a third of the budget (1..10)."""
        if self.n_startup_trials is not None:
            return self.n_startup_trials
        return max(1, min(10, budget_trials // 3))


class BohbSearcher(_WarmStart):
    """BOHB's model-based sampling (TuneBOHB); runs with scheduler type bohb."""

    type: Literal["bohb"]
    seed: int | None = None


class DragonflySearcher(_WarmStart):
    """Dragonfly's GP bandit over int, float and discrete parameters together (the guide's BO)."""

    type: Literal["dragonfly"]
    seed: int | None = None


Searcher = Annotated[
    Union[RandomSearcher, GridSearcher, OptunaSearcher, BohbSearcher, DragonflySearcher],
    Field(discriminator="type"),
]


class Strategy(_Model):
    scheduler: Scheduler = Field(default_factory=lambda: AshaScheduler(type="asha"))
    searcher: Searcher = Field(default_factory=lambda: RandomSearcher(type="random"))

    @model_validator(mode="before")
    @classmethod
    def _pair_bohb(cls, data: Any) -> Any:
        """``searcher: bohb`` without a scheduler gets BOHB's own HyperBand, not the asha default."""
        if isinstance(data, dict) and "scheduler" not in data:
            searcher = data.get("searcher")
            if isinstance(searcher, dict) and searcher.get("type") == "bohb":
                return {**data, "scheduler": {"type": "bohb"}}
        return data


# --------------------------------------------------------------------------- budget & resources


class Budget(_Model):
    trials: int = Field(default=16, ge=1, description="Trials to sample (the grid's repeats for grid).")
    max_concurrent_trials: int | None = Field(default=None, ge=1)
    time_limit: float | None = Field(
        default=None, description="Wall-clock limit for the campaign: seconds or '30m', '8h'."
    )
    max_iterations_per_trial: int | None = Field(
        default=None, ge=1, description="Stop every trial at this training iteration."
    )

    @field_validator("time_limit", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)


class Trainable(_Model):
    entrypoint: str = Field(
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:attribute of a Ray Tune function or class trainable.",
    )
    config: dict[str, Any] = Field(default_factory=dict, description="Fixed values for every trial.")


class PerTrialResources(_Model):
    cpu: float = Field(default=1, gt=0)
    gpu: float = Field(default=0, ge=0)


class Toleration(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class ClusterResources(_Model):
    """The Ray cluster a campaign gets on Kubernetes (ignored by the local backend)."""

    image: str | None = Field(default=None, description="Ray image with the trainer installed.")
    workers: int = Field(default=1, ge=0)
    cpus_per_worker: float = Field(default=4, gt=0)
    gpus_per_worker: int = Field(default=0, ge=0)
    memory_per_worker: str = Field(default="8Gi", pattern=r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$")
    head_cpus: float = Field(default=2, gt=0)
    head_memory: str = Field(default="4Gi", pattern=r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)


class Resources(_Model):
    per_trial: PerTrialResources = Field(default_factory=PerTrialResources)
    cluster: ClusterResources = Field(default_factory=ClusterResources)


class Checkpoint(_Model):
    """The guide: checkpoint as little as the strategy allows."""

    frequency: int = Field(
        default=0, ge=0, description="Iterations between checkpoints; 0 = only when the scheduler needs them."
    )
    at_end: bool = False
    keep: int = Field(default=1, ge=1)


class Runtime(_Model):
    fail_fast: bool = Field(default=True, description="End the campaign at the first trial error.")
    reuse_actors: bool | None = Field(
        default=None, description="Reuse trial actors; default: when the trainable has reset_config."
    )
    max_trial_retries: int = Field(default=0, ge=0, description="Retries of a failed trial.")


class Storage(_Model):
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


class CampaignSpec(_Model):
    objective: Objective
    search_space: dict[str, Param] = Field(min_length=1)
    strategy: Strategy = Field(default_factory=Strategy)
    budget: Budget = Field(default_factory=Budget)
    trainable: Trainable
    resources: Resources = Field(default_factory=Resources)
    checkpoint: Checkpoint = Field(default_factory=Checkpoint)
    runtime: Runtime = Field(default_factory=Runtime)
    storage: Storage = Field(default_factory=Storage)

    @field_validator("search_space")
    @classmethod
    def _names(cls, space: dict[str, Param]) -> dict[str, Param]:
        for name in space:
            if not re.match(r"^[A-Za-z_][\w.-]*$", name):
                raise ValueError(f"hyperparameter name {name!r} must be an identifier")
        return space


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    # KubeRay's rule for a RayJob name (a DNS-1035 label of at most 47 characters, room for the
    # suffixes of its RayCluster and pods), less the "-tune" the RayJob adds.
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=42)
    namespace: str = "default"


class Campaign(BaseModel):
    """A whole HPOCampaign manifest."""

    model_config = ConfigDict(extra="allow")
    api_version: Literal["hpo.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["HPOCampaign"]
    metadata: Metadata
    spec: CampaignSpec
