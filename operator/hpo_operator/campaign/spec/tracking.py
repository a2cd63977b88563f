"""Where a campaign's trials are also logged: an MLflow tracking server, Weights & Biases.

Opt-in, one section each; Tune's TensorBoard, CSV and JSON logs are written in any case. The
manifest names servers, projects and Kubernetes Secrets, never a credential: tokens and API keys
come from the environment (on Kubernetes, from the Secret the manifest names).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from ..shown import quote
from . import bounds
from .base import SpecModel
from .k8s import DnsSubdomain

# http(s) with a host, or a file: URI of an absolute path; no spaces or control characters.
TRACKING_URI_PATTERN = r"^(https?://[A-Za-z0-9.\[\]:-]+(/[!-~]*)?|file:(//)?/[!-~]*)$"
TRACKING_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_. -]*$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:/ -]*$"


def _tracking_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise ValueError(f"{quote(uri)} names no host")
    if "@" in parts.netloc:
        raise ValueError(f"{quote(uri)} holds credentials: give the server's address only and "
                         "the token through tokenSecret (MLFLOW_TRACKING_TOKEN)")
    if parts.scheme == "file" and ".." in parts.path.split("/"):
        raise ValueError(f"{quote(uri)} must be a normalised path, without '..'")
    return uri


TrackingUri = Annotated[str, Field(max_length=bounds.MAX_TRACKING_URI,
                                   pattern=TRACKING_URI_PATTERN), AfterValidator(_tracking_uri)]
TrackingName = Annotated[str, Field(min_length=1, max_length=bounds.MAX_TRACKING_NAME,
                                    pattern=TRACKING_NAME_PATTERN)]
Tag = Annotated[str, Field(min_length=1, max_length=bounds.MAX_TRACKING_TAG, pattern=TAG_PATTERN)]


TRACKING_SECRET_PREFIX = "hpo-tracking-"


def _tracking_secret(name: str) -> str:
    # The driver's pod reads the Secret with the kubelet's rights, not its author's: only
    # Secrets named for campaigns may be handed to them.
    if not name.startswith(TRACKING_SECRET_PREFIX):
        raise ValueError(f"{quote(name)}: a campaign may read only Secrets named "
                         f"{TRACKING_SECRET_PREFIX}*, which are meant for campaigns")
    return name


class SecretKeyRef(SpecModel):
    """A key of a Kubernetes Secret in the campaign's namespace, given to the driver as an
    environment variable. Its name starts with ``hpo-tracking-``."""

    name: Annotated[DnsSubdomain, AfterValidator(_tracking_secret)]
    key: str = Field(max_length=bounds.MAX_SECRET_KEY, pattern=SECRET_KEY_PATTERN)


class MlflowTracking(SpecModel):
    """Ray Tune's MLflowLoggerCallback: one MLflow run per trial, its config as parameters and
    every reported number as a metric."""

    tracking_uri: TrackingUri = Field(description="The tracking server (http:// or https://), "
                                      "or a file: URI of a directory the driver shares.")
    experiment_name: TrackingName | None = Field(
        default=None, description="MLflow experiment of the trials' runs; default: the "
        "campaign's name.")
    tags: dict[Tag, Tag] = Field(default_factory=dict, max_length=bounds.MAX_TRACKING_TAGS)
    save_artifact: bool = Field(default=False, description="Also upload each trial's directory "
                                "(checkpoints included) as the run's artifacts.")
    token_secret: SecretKeyRef | None = Field(
        default=None, description="Secret key holding the server's token: MLFLOW_TRACKING_TOKEN "
        "on Kubernetes (elsewhere, set that variable).")


class WandbTracking(SpecModel):
    """Ray Tune's WandbLoggerCallback: one W&B run per trial, in a group per campaign."""

    project: TrackingName
    entity: TrackingName | None = None
    group: TrackingName | None = Field(default=None,
                                       description="Default: the campaign's name.")
    mode: Literal["online", "offline"] = Field(
        default="online", description="offline writes the runs to files for `wandb sync`.")
    tags: list[Tag] = Field(default_factory=list, max_length=bounds.MAX_TRACKING_TAGS)
    log_config: bool = Field(default=False, description="Log the config with every result "
                             "too, not only once per run.")
    api_key_secret: SecretKeyRef | None = Field(
        default=None, description="Secret key holding the W&B API key: WANDB_API_KEY on "
        "Kubernetes (elsewhere, set that variable).")


class Tracking(SpecModel):
    mlflow: MlflowTracking | None = None
    wandb: WandbTracking | None = None
