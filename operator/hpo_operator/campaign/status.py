"""The campaign status: the schema of an HPOCampaign's ``.status``, of ``--status-file``, and of the
progress the driver publishes. Bounded by design: counters, the best trial and a short top-K,
never one entry per trial, so a 10,000-trial campaign does not grow the object; messages, which
quote what went wrong (an API server's refusal, a trial's error, a manifest's problems), are cut
to a byte budget when written, with a marker, so that any spec gives a status far below etcd's
limit (tests/operator/test_status_size.py).
"""

from __future__ import annotations

import enum
import time
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from pydantic.alias_generators import to_camel

from .shown import truncate

TOP_K = 5
MAX_STATUS_MESSAGE_BYTES = 2048
MAX_CONDITION_MESSAGE_BYTES = 1024
MAX_REASON_BYTES = 128


class Phase(str, enum.Enum):
    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    VALIDATION_FAILED = "ValidationFailed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.VALIDATION_FAILED})


def iso_time(seconds: float) -> str:
    """``seconds`` since the epoch as the status shows times."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso_time(time.time())


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class TrialCounts(_Model):
    total: int = 0
    pending: int = 0
    running: int = 0
    paused: int = 0
    completed: int = 0  # reached the iteration limit or ended by itself
    stopped: int = 0  # stopped early by the scheduler
    errored: int = 0
    # Times a trial's node went away (evicted, preempted, failed) and the trial was retried from
    # its checkpoint: not errors, and not counted against runtime.maxTrialRetries.
    preempted: int = 0


class Reproduction(_Model):
    """What it takes to train a trial again, as ``hpo reproduce`` does."""

    entrypoint: str
    config: dict[str, Any] = Field(description="Every value the trial got, fixed ones included.")
    seed: int | None = None
    dataset_fingerprint: str | None = Field(
        default=None, description="The trainable's hash of what it trained on, if it reports one.")
    checkpoint: str | None = Field(default=None, description="The trial's last checkpoint.")
    image: str | None = Field(default=None, description="The container image, by digest if known.")
    versions: dict[str, str] = Field(default_factory=dict,
                                     description="hpo-operator, Ray, torch and Python versions.")


class TrialSummary(_Model):
    id: str
    config: dict[str, Any]
    metric: float
    iteration: int
    reached_at: str | None = None
    reproduce: Reproduction | None = None  # the best trial's, once the campaign has ended


class Condition(_Model):
    type: str
    status: str  # "True" | "False" | "Unknown", as Kubernetes conditions
    reason: str
    message: str = ""
    last_transition_time: str = Field(default_factory=now_iso)

    @field_serializer("message")
    def _bounded_message(self, message: str) -> str:
        return truncate(message, MAX_CONDITION_MESSAGE_BYTES)

    @field_serializer("reason")
    def _bounded_reason(self, reason: str) -> str:
        return truncate(reason, MAX_REASON_BYTES)


class LrSchedule(_Model):
    """A MultiStepLR fitted to a PBT learning rate: what the trainer's lr_schedule takes."""

    param: str
    initial: float
    milestones: list[int]
    gamma: float
    rms_log10_error: float = Field(description="Fit error, in decades of the learning rate.")


class HyperparameterSchedule(_Model):
    """The best PBT/PB2 trial's hyperparameters over training, following its exploits."""

    trial_id: str
    iterations: int
    params: dict[str, list[list[Any]]] = Field(
        description="Per hyperparameter, [iteration, value] where the value changes (bounded).")
    lr_schedule: LrSchedule | None = None


class Usage(_Model):
    """What the campaign spent, in resource-hours (campaign.usage explains the counting)."""

    gpu_hours: float = 0.0
    cpu_hours: float = 0.0
    trials_started: int = 0
    saved_gpu_hours: float = Field(
        default=0.0, description="What the trials the scheduler stopped early would have cost to "
        "reach maxT, beyond what they used: estimated from each one's time per unit of progress.")
    saved_cpu_hours: float = 0.0


class CampaignStatus(_Model):
    phase: Phase = Phase.PENDING
    message: str | None = None
    trials: TrialCounts = Field(default_factory=TrialCounts)
    best_trial: TrialSummary | None = None
    top_trials: list[TrialSummary] = Field(default_factory=list)
    metric: str | None = None
    mode: str | None = None
    start_time: str | None = None
    completion_time: str | None = None
    elapsed_seconds: float | None = None
    results_processed: int = 0
    time_to_target_seconds: float | None = None
    resumed: int = Field(default=0, description="How often the experiment was restored.")
    heartbeat_time: str | None = Field(
        default=None, description="When the driver last published its progress; the operator "
                                  "sets DriverStalled when this grows old while it runs.")
    experiment_path: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    schedule: HyperparameterSchedule | None = None
    usage: Usage | None = None

    @field_serializer("message")
    def _bounded_message(self, message: str | None) -> str | None:
        return None if message is None else truncate(message, MAX_STATUS_MESSAGE_BYTES)

    def set_condition(self, type_: str, status: bool, reason: str, message: str = "") -> None:
        """Add or update a condition; its transition time moves only when its status changes."""
        value = "True" if status else "False"
        for i, cond in enumerate(self.conditions):
            if cond.type == type_:
                keep_time = cond.status == value
                self.conditions[i] = Condition(
                    type=type_, status=value, reason=reason, message=message,
                    last_transition_time=cond.last_transition_time if keep_time else now_iso())
                return
        self.conditions.append(Condition(type=type_, status=value, reason=reason, message=message))

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)
