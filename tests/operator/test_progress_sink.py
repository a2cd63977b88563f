"""The driver's progress sink: advisory, and never the creator of its ConfigMap."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator import kube
from hpo_operator.driver import configmap_sink as progress_sink
from hpo_operator.kuberay import names
from hpo_operator.kuberay.rayjob import build_progress_configmap

from tests.support.cluster import EmulatedCluster

from .conftest import campaign_doc

NS, NAME = "default", "toy"


def test_progress_publishing_survives_any_error(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[Exception | None] = [
        MaxRetryError(None, "/api/v1", "connection refused"),  # type: ignore[arg-type]
        RuntimeError("no kubeconfig"), None, kube.KubeError("patch: HTTP 403", 403)]
    written: list[dict[str, str]] = []

    def patch(namespace: str, name: str, data: dict[str, str], owner_uid: str | None) -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        written.append(data)

    monkeypatch.setattr(kube, "patch_configmap_data", patch)
    sink = progress_sink.ConfigMapSink(NS, "toy-progress", NAME)
    with caplog.at_level(logging.DEBUG, logger=progress_sink.__name__):
        for _ in range(4):
            sink.publish(CampaignStatus(phase=Phase.RUNNING))
    levels = [r.levelname for r in caplog.records]
    assert levels == ["WARNING", "DEBUG", "INFO", "WARNING"]  # one warning per failure streak
    assert "connection refused" in caplog.records[0].getMessage()
    assert len(written) == 1 and json.loads(written[0][names.PROGRESS_KEY])["phase"] == "Running"


def test_the_driver_never_creates_its_progress_configmap(monkeypatch: pytest.MonkeyPatch) -> None:
    class Core:
        created = False

        def patch_namespaced_config_map(self, *_: Any, **__: Any) -> None:
            raise ApiException(status=404, reason="Not Found")

        def create_namespaced_config_map(self, *_: Any, **__: Any) -> None:
            Core.created = True

    monkeypatch.setattr(kube, "_core", Core)
    with pytest.raises(kube.KubeError) as raised:
        kube.patch_configmap_data(NS, "toy-progress", {"k": "v"})
    assert raised.value.status == 404 and not Core.created


def test_a_driver_never_writes_a_new_same_named_campaigns_progress(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The window after a campaign is deleted and created again under its name, while the old
    driver still runs: its patches test the owner's uid, so they stop at the new ConfigMap.
    Against the Kubernetes emulator, which answers a failed JSON-patch test as a server does."""
    emulated = EmulatedCluster(tmp_path)
    try:
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(emulated.kubeconfig),
                                client_configuration=configuration)
        monkeypatch.setattr(kube, "_api", lambda: client.ApiClient(configuration))
        campaign = parse_campaign(campaign_doc(NAME))
        cm_name = names.progress_configmap_name(NAME)

        def progress() -> dict[str, Any] | None:
            data = (kube.get_configmap(NS, cm_name) or {}).get("data") or {}
            return json.loads(data[names.PROGRESS_KEY]) if names.PROGRESS_KEY in data else None

        assert kube.create_if_absent(build_progress_configmap(campaign, owner_uid="uid-old"))
        old_driver = progress_sink.ConfigMapSink(NS, cm_name, NAME, owner_uid="uid-old")
        old_driver.publish(CampaignStatus(phase=Phase.RUNNING))
        assert progress()["phase"] == "Running"

        kube.delete_configmap(NS, cm_name)  # the campaign is deleted and created again
        assert kube.create_if_absent(build_progress_configmap(campaign, owner_uid="uid-new"))
        with caplog.at_level(logging.WARNING, logger=progress_sink.__name__):
            old_driver.publish(CampaignStatus(phase=Phase.SUCCEEDED))
        assert progress() is None and old_driver.disowned
        assert "no longer owned by campaign toy (uid uid-old)" in caplog.text

        new_driver = progress_sink.ConfigMapSink(NS, cm_name, NAME, owner_uid="uid-new")
        new_driver.publish(CampaignStatus(phase=Phase.RUNNING))
        new_driver.publish(CampaignStatus(phase=Phase.SUCCEEDED))
        assert progress()["phase"] == "Succeeded" and not new_driver.failures
    finally:
        emulated.close()
