"""What a campaign's Kubernetes objects take from the operator's installation, not from the spec."""

from __future__ import annotations

from dataclasses import dataclass

# The Ray this project runs (pyproject's ray[tune] pin, the Dockerfile's Ray image, the chart's
# campaigns.rayVersion: a test checks that they agree).
RAY_VERSION = "2.60.0"


@dataclass(frozen=True)
class ClusterDefaults:
    """What the campaign spec leaves to the operator's installation (see controller.settings)."""

    image: str = "ghcr.io/hpo-operator/trainer:0.1.0"
    """Ray image with the trainer installed, for campaigns that name none."""
    ray_version: str = RAY_VERSION
    """Must match the Ray inside the image; KubeRay uses it to pick start flags."""
    storage_path: str = "/var/hpo/runs"
    """Experiment directory inside the Ray pods when spec.storage.path is not set."""
    deadline_margin_seconds: int = 900
    """Added to spec.budget.timeLimit for activeDeadlineSeconds: cluster start-up and wind-down."""
    backoff_limit: int = 2
    """Driver retries. Each retry restores the Tune experiment from storage (finished trials kept)."""
    ttl_seconds_after_finished: int = 3600
    """How long KubeRay keeps a finished job's cluster for log inspection before deleting it."""
    experiment_checkpoint_seconds: float | None = None
    """Tune's experiment-state save period (TUNE_GLOBAL_CHECKPOINT_S); None keeps Tune's 'auto'.
    A shorter period loses less progress when the driver dies."""
    run_as_user: int | None = None
    """With a uid, every pod of the RayJob (head, workers, the submitter) meets the 'restricted'
    Pod Security Standard: non-root as this user, no privilege escalation, no capabilities, the
    runtime's seccomp profile. 1000 is the trainer image's user. None leaves the pods as their
    images make them (some distributions, OpenShift among them, set these themselves)."""
    kuberay_namespace: str = ""
    """Namespace of the KubeRay operator, which polls each job's status from the Ray dashboard:
    the campaign's NetworkPolicy lets its pods reach the head's dashboard port. Empty: any
    namespace, among pods with ``kuberay_pod_labels``."""
    kuberay_pod_labels: tuple[str, ...] = ("app.kubernetes.io/name=kuberay-operator",)
    """``key=value`` labels of the KubeRay operator's pods (its Helm chart's, by default)."""

    def __post_init__(self) -> None:
        malformed = [item for item in self.kuberay_pod_labels if "=" not in item.strip("=")]
        if malformed:
            raise ValueError(f"KubeRay pod labels must be key=value, got {malformed}")
        if not (self.kuberay_namespace or self.kuberay_pod_labels):
            # Both empty would open every head's dashboard to every pod of the cluster.
            raise ValueError("name the KubeRay operator's namespace or its pod labels (or both)")
