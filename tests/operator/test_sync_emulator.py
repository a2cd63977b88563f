"""sync through the real :mod:`hpo_operator.kube` against the Kubernetes emulator, which
applies status merge patches as a server does: a progress snapshot this operator cannot read never
replaces the last good status, and the status recovers with the next readable one."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import yaml
from hpo_operator import kube
from hpo_operator.campaign.status import CampaignStatus, Phase, TrialCounts, TrialSummary
from hpo_operator.controller import campaigns
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.driver.configmap_sink import ConfigMapSink
from hpo_operator.kuberay import names
from kubernetes import client

from tests.support.cluster import EmulatedCluster

from .conftest import campaign_doc

NS, NAME = "default", "garbled"
pytestmark = pytest.mark.k8s


def sync() -> dict[str, Any]:
    campaigns.sync(NS, NAME, OperatorSettings(), Metrics(), "test")
    return (kube.get_campaign(NS, NAME) or {}).get("status") or {}


def test_an_unreadable_snapshot_keeps_the_status_until_a_readable_one(
        cluster: EmulatedCluster, api: client.ApiClient) -> None:
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(campaign_doc(NAME)))
    body = kube.get_campaign(NS, NAME)
    assert body is not None
    campaigns.provision(body, OperatorSettings(), Metrics(), logging.getLogger("test"))
    client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        names.RAYJOB_GROUP, names.RAYJOB_VERSION, NS, names.RAYJOB_PLURAL, names.rayjob_name(NAME),
        {"status": {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}})
    configmap = names.progress_configmap_name(NAME)
    best = TrialSummary(id="t1", config={"x": 0.5}, metric=0.25, iteration=2)
    ConfigMapSink(NS, configmap, NAME, body["metadata"]["uid"]).publish(CampaignStatus(
        phase=Phase.RUNNING, resumed=1, trials=TrialCounts(total=3, completed=1),
        best_trial=best, top_trials=[best]))
    good = sync()
    assert good["phase"] == "Running" and good["resumed"] == 1 and good["trials"]["total"] == 3

    def publish(raw: str) -> None:
        kube.patch_configmap_data(NS, configmap, {names.PROGRESS_KEY: raw})

    publish(json.dumps({"phase": "Hibernating", "resumed": 0, "trials": {"total": 0}}))
    kept = sync()
    assert {k: kept[k] for k in ("resumed", "trials", "bestTrial")} == {
        k: good[k] for k in ("resumed", "trials", "bestTrial")}
    unreadable = [c for c in kept["conditions"] if c["type"] == "ProgressUnreadable"]
    assert unreadable and unreadable[0]["status"] == "True" and "phase" in unreadable[0]["message"]

    publish(json.dumps({"phase": "Running", "resumed": 2, "heartbeat": "newer driver",
                        "trials": {"total": 4, "completed": 2}}))
    recovered = sync()
    assert recovered["resumed"] == 2 and recovered["trials"]["completed"] == 2
    assert "ProgressUnreadable" not in [c["type"] for c in recovered["conditions"]]
    assert recovered["bestTrial"] == good["bestTrial"]  # never worse than before
