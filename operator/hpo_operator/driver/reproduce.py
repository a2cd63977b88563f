"""The record that lets a campaign's winner be trained again (``status.bestTrial.reproduce``)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

from ..campaign.spec import CampaignSpec
from ..campaign.status import Reproduction
from ..campaign.tune_names import TRAINING_ITERATION

# Result keys a trainable may report to say what it trained on.
FINGERPRINT_KEY = "dataset_fingerprint"


def reproduction(spec: CampaignSpec, trial_id: str, results: Any) -> Reproduction | None:
    """The record of trial ``trial_id`` from Tune's ``ResultGrid``; None if it is not there."""
    result = next((r for r in results if (r.metrics or {}).get("trial_id") == trial_id), None)
    if result is None:
        return None
    config = {k: v for k, v in (result.config or {}).items() if _plain(v)}
    seed = config.get("seed")
    fingerprint = (result.metrics or {}).get(FINGERPRINT_KEY)
    return Reproduction(
        entrypoint=spec.trainable.entrypoint, config=config,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        dataset_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        checkpoint=result.checkpoint.path if result.checkpoint is not None else None,
        image=os.environ.get("HPO_IMAGE") or None, versions=versions())


def versions() -> dict[str, str]:
    """The versions that decide what a trial computes, read without importing torch."""
    found = {"python": platform.python_version()}
    for dist in ("hpo-operator", "ray", "torch", "torch-geometric"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _plain(value: Any) -> bool:
    """JSON values only: a status holds no objects Tune may have put into a config."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def retrain(record: Reproduction, iterations: int, storage: str) -> dict[str, Any]:
    """Train the recorded configuration again for ``iterations`` on embedded local Ray, as one
    Tune trial like the campaign's (function and class trainables alike); its last result."""
    from ray import tune

    from .cluster import ensure_ray
    from .tuner import load_trainable

    ensure_ray(None)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    tuner = tune.Tuner(
        load_trainable(record.entrypoint), param_space=dict(record.config),
        tune_config=tune.TuneConfig(num_samples=1),
        run_config=tune.RunConfig(name="reproduce", storage_path=storage, verbose=0,
                                  stop={TRAINING_ITERATION: iterations}))
    result = tuner.fit()[0]
    if result.error is not None:
        raise RuntimeError(f"the trial failed: {result.error}")
    return dict(result.metrics or {})
