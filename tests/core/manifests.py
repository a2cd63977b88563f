"""Manifest builders for the core tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hpo_operator.campaign.manifest import ManifestError, parse_campaign

BASE: dict[str, Any] = {
    "apiVersion": "hpo.dev/v1alpha1",
    "kind": "HPOCampaign",
    "metadata": {"name": "toy"},
    "spec": {
        "objective": {"metric": "loss", "mode": "min"},
        "searchSpace": {"x": {"type": "float", "min": 0.0, "max": 1.0}},
        "strategy": {"scheduler": {"type": "asha", "maxT": 4, "gracePeriod": 1,
                                   "reductionFactor": 2}},
        "budget": {"trials": 6, "maxConcurrentTrials": 2},
        "trainable": {"entrypoint": "tests.support.trainables:Curve"},
    },
}


def manifest(**spec_overrides: Any) -> dict[str, Any]:
    """A valid toy manifest with top-level spec sections replaced."""
    doc = copy.deepcopy(BASE)
    for key, value in spec_overrides.items():
        if value is None:
            doc["spec"].pop(key, None)
        else:
            doc["spec"][key] = value
    return doc


def problems(doc: dict[str, Any]) -> dict[str, str]:
    """The problems validation reports for ``doc``, by field path (it must be invalid)."""
    with pytest.raises(ManifestError) as info:
        parse_campaign(doc)
    return {p.path: str(p) for p in info.value.problems}
