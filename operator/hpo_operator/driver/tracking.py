"""The experiment trackers a campaign opts into, as Ray Tune's logger callbacks.

MLflow's callback runs in the driver; W&B's starts one logging actor per trial on the driver's
node. Each is imported only when the spec asks for it, so a campaign without trackers needs
neither package.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from ..campaign.spec import Campaign

_PACKAGES = {"mlflow": "mlflow", "wandb": "wandb"}


class TrackingError(Exception):
    """A tracker the spec names cannot be used here."""


def check_available(campaign: Campaign) -> None:
    """Raise :class:`TrackingError` before the campaign starts if a tracker's package is missing."""
    tracking = campaign.spec.tracking
    for section, package in _PACKAGES.items():
        if getattr(tracking, section) is not None and importlib.util.find_spec(package) is None:
            raise TrackingError(f"spec.tracking.{section} needs the {package!r} package, which "
                                "this environment lacks (pip install 'hpo-operator[tracking]')")


def tracking_callbacks(campaign: Campaign, exp_dir: Path) -> list[Any]:
    tracking = campaign.spec.tracking
    callbacks: list[Any] = []
    if tracking.mlflow is not None:
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        mlflow = tracking.mlflow
        # The token comes from MLFLOW_TRACKING_TOKEN, which mlflow reads itself.
        callbacks.append(MLflowLoggerCallback(
            tracking_uri=mlflow.tracking_uri,
            experiment_name=mlflow.experiment_name or campaign.metadata.name,
            tags=dict(mlflow.tags) or None, save_artifact=mlflow.save_artifact))
    if tracking.wandb is not None:
        callbacks.append(_wandb_callback(campaign, exp_dir))
    return callbacks


def _wandb_callback(campaign: Campaign, exp_dir: Path) -> Any:
    from ray.air.integrations.wandb import WandbLoggerCallback

    wandb = campaign.spec.tracking.wandb
    assert wandb is not None
    if wandb.mode == "offline":
        # Tune's callback skips its API-key check only when the environment says offline.
        os.environ["WANDB_MODE"] = "offline"
    # W&B's local files (the whole run, offline) go to the driver's WANDB_DIR, else into the
    # experiment: a logging actor's own directory is synced to storage before it has finished.
    extra: dict[str, Any] = {"mode": wandb.mode,
                             "dir": os.environ.get("WANDB_DIR") or str(exp_dir / "wandb")}
    if wandb.entity:
        extra["entity"] = wandb.entity
    if wandb.tags:
        extra["tags"] = list(wandb.tags)
    # The API key comes from WANDB_API_KEY, which the callback forwards to its actors.
    return WandbLoggerCallback(project=wandb.project,
                               group=wandb.group or campaign.metadata.name,
                               log_config=wandb.log_config, **extra)
