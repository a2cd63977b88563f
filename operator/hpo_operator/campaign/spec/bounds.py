"""The limits of an HPOCampaign manifest: one table, read by the spec model (and through it by the
generated CRD), the manifest loader, the backends' settings and the README's "Bounds" paragraph.

Every value a manifest holds is bounded, so that whatever ``hpo validate`` accepts also renders
into objects Kubernetes and KubeRay accept, into a batch script Slurm accepts, and into a status
that fits in etcd. The reasons are given where a limit is not a matter of taste.
"""

from __future__ import annotations

INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# -- budget ----------------------------------------------------------------------------------
MAX_TRIALS = 100_000
MAX_ITERATIONS = 1_000_000
"""Training iterations per trial (budget.maxIterationsPerTrial, maxT, grace periods...)."""
MAX_TIME_LIMIT_SECONDS = 366 * 86_400
"""A year and a day. KubeRay's activeDeadlineSeconds is an int32: with the installation's
deadline margin (at most MAX_DEADLINE_MARGIN_SECONDS) it still fits."""
MAX_DEADLINE_MARGIN_SECONDS = INT32_MAX - MAX_TIME_LIMIT_SECONDS
MAX_RESOURCE_HOURS = 10**9
"""budget.gpuHours and budget.cpuHours: far above any real allocation (a thousand 64-GPU workers
for fifteen years), and exact as a double."""
MAX_DURATION_TEXT = 32
"""Characters of a duration string such as '1h30m'."""
MAX_STALL_FACTOR = 1_000
"""runtime.trialStallFactor: iteration times of silence before a trial counts as stalled."""

# -- strategy --------------------------------------------------------------------------------
MAX_SEED = 2**32 - 1
"""NumPy's random seeds are unsigned 32-bit integers."""
MAX_REDUCTION_FACTOR = 100
MAX_BRACKETS = 16
MAX_PERTURBATION_FACTOR = 100
MAX_WARM_START_POINTS = 1_000
MAX_STOP_THRESHOLDS = 16

# -- search space ----------------------------------------------------------------------------
MAX_PARAMETERS = 32
MAX_NAME_LENGTH = 63
"""Hyperparameter names; also the longest key of a warm-start point."""
MAX_CHOICES = 256
MAX_CHOICE_BYTES = 64
"""UTF-8 bytes of a string choice value (it is copied into the status for the top trials)."""
MAX_PARAMETER_MAGNITUDE = 2**53
"""Bounds of a float or int range: exact as a double, and their difference stays finite."""

# -- trainable -------------------------------------------------------------------------------
MAX_ENTRYPOINT_LENGTH = 256
MAX_METRIC_LENGTH = 128
MAX_CONFIG_KEYS = 256
MAX_CONFIG_KEY_LENGTH = 128
MAX_CONFIG_DEPTH = 10
"""Levels of trainable.config below its top level (a JSON decoder recurses once per level)."""
MAX_CONFIG_BYTES = 8 * 1024
"""trainable.config as JSON. The winner's reproduction record (status.bestTrial.reproduce) copies
it into the status, which must stay far below etcd's limit."""

# -- resources -------------------------------------------------------------------------------
MAX_WORKERS = 1_000
MAX_CPUS = 1_024
"""CPUs per trial, per Ray worker and of the Ray head."""
MIN_POD_CPUS = 0.001
"""A millicore: the smallest CPU quantity Kubernetes schedules."""
MIN_TRIAL_CPUS = 0.0001
"""Ray's resource granularity."""
MAX_GPUS = 64
MAX_MEMORY_BYTES = 64 * 2**40
MIN_MEMORY_BYTES = 2**20
MAX_QUANTITY_LENGTH = 20
MAX_IMAGE_LENGTH = 512
"""A whole image reference; its repository name has at most 255 characters (OCI)."""
MAX_CUSTOM_RESOURCES = 16
"""Custom Ray resources a trial, a bundle or a worker names."""
MAX_RESOURCE_NAME = 63
MAX_CUSTOM_AMOUNT = 1_000_000
MAX_BUNDLES = 16
"""Placement-group bundles of one trial: its workers."""
MAX_NODE_SELECTOR = 32
MAX_TOLERATIONS = 32

# -- tracking --------------------------------------------------------------------------------
MAX_TRACKING_URI = 512
MAX_TRACKING_NAME = 128
"""An MLflow experiment name, a W&B project, entity or group."""
MAX_TRACKING_TAGS = 16
MAX_TRACKING_TAG = 128
"""Characters of a tag's key or value."""
MAX_SECRET_KEY = 253

# -- storage ---------------------------------------------------------------------------------
MAX_STORAGE_PATH = 256
MAX_DNS_SUBDOMAIN = 253
MAX_DNS_LABEL = 63

# -- the manifest as a whole -----------------------------------------------------------------
MAX_SPEC_BYTES = 128 * 1024
"""The spec as JSON. It travels in a ConfigMap (at most 1 MiB, as YAML) to the Ray head."""
MAX_MANIFEST_BYTES = 1024 * 1024
"""A manifest file read by the command line."""
MAX_DOCUMENT_VALUES = 100_000
"""Values (mapping keys included) of a YAML document with its aliases expanded."""
MAX_DOCUMENT_DEPTH = 64
"""Nesting of a YAML document."""
