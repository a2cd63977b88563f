"""A hanging trial named in the custom resource: on the Kubernetes emulator, with a real
``hpo operator`` and the KubeRay stand-in running the campaign's real driver on local Ray.

The trial hangs in its third iteration until the test lets it go. The driver's TrialStalled
condition travels through the progress ConfigMap into the HPOCampaign's status, with a Warning
event; once the trial reports again the condition turns False and the campaign succeeds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.support.cluster import EmulatedCluster, OperatorProcess
from tests.support.kuberay_standin import KubeRayStandIn
from tests.support.poll import wait_until

from .conftest import campaign_doc

pytestmark = pytest.mark.k8s


def _status(cluster: EmulatedCluster, name: str) -> dict[str, Any]:
    return (cluster.get_json("hpocampaign", name) or {}).get("status", {})


def _condition(cluster: EmulatedCluster, name: str, kind: str, value: str) -> dict | None:
    found = next((c for c in _status(cluster, name).get("conditions", []) if c["type"] == kind),
                 None)
    return found if found is not None and found["status"] == value else None


def _ended(cluster: EmulatedCluster, name: str) -> str | None:
    phase = _status(cluster, name).get("phase")
    return phase if phase in ("Succeeded", "Failed") else None


def test_a_hanging_trial_is_named_in_the_campaign_status(
        cluster: EmulatedCluster, operator: OperatorProcess, standin: KubeRayStandIn,
        tmp_path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    doc = campaign_doc(
        "hang", budget={"trials": 1, "maxIterationsPerTrial": 5},
        trainable={"entrypoint": "tests.support.stalling_trainables:hangs_at_third_iteration",
                   "config": {"workdir": str(work)}},
        runtime={"trialStallFactor": 10, "trialStallMinSeconds": 1})
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    try:
        stalled = wait_until(lambda: _condition(cluster, "hang", "TrialStalled", "True"), 240,
                             message="TrialStalled=True in the campaign's status")
    finally:
        (work / "go").write_text("")  # the campaign ends whatever was seen
    hanging = [p.name.split("-", 1)[1] for p in work.glob("hanging-*")]
    assert stalled["reason"] == "NoResults"
    assert stalled["message"].startswith(f"trial {hanging[0]} has reported nothing"), stalled
    assert wait_until(lambda: _ended(cluster, "hang"), 180, message="a final phase") == \
        "Succeeded", _status(cluster, "hang")
    assert _condition(cluster, "hang", "TrialStalled", "False") is not None
    items = (cluster.get_json("events") or {}).get("items", [])
    warned = [e for e in items if e.get("involvedObject", {}).get("name") == "hang"
              and e.get("reason") == "TrialStalled"]
    assert len(warned) == 1 and warned[0]["type"] == "Warning", json.dumps(warned)
