"""The driver's progress sink: advisory, and never the creator of its ConfigMap."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator.controller import kube, progress_sink
from hpo_operator.kuberay import names

NS, NAME = "default", "toy"


def test_progress_publishing_survives_any_error(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[Exception | None] = [
        MaxRetryError(None, "/api/v1", "connection refused"),  # type: ignore[arg-type]
        RuntimeError("no kubeconfig"), None, kube.KubeError("patch: HTTP 403", 403)]
    written: list[dict[str, str]] = []

    def patch(namespace: str, name: str, data: dict[str, str]) -> None:
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
