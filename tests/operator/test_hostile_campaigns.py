"""Hostile campaigns through the operator: whatever the API server stores, the operator decodes it,
and ends it with a small, final status instead of crashing or retrying for ever."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hpo_operator.campaign.status import Phase
from hpo_operator.controller import campaigns, handlers
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings

from .fake_kube import LOG, FakeKube


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    return FakeKube().install(monkeypatch)


@pytest.fixture(autouse=True)
def _recursion_limit() -> Iterator[None]:
    """handlers.allow_deep_objects() raises the limit for the process: only for these tests."""
    before = sys.getrecursionlimit()
    yield
    sys.setrecursionlimit(before)


def nested(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels):
        value = {"d": value}
    return value


def test_the_deepest_object_the_api_server_stores_is_decoded_in_a_handler_thread() -> None:
    handlers.allow_deep_objects()
    text = json.dumps({"spec": {"trainable": {"config": nested(handlers.DECODABLE_DEPTH)}}})
    decoded: list[Any] = []
    thread = threading.Thread(target=lambda: decoded.append(json.loads(text)))
    thread.start()
    thread.join()
    assert decoded and json.dumps(decoded[0]) == text


def test_a_deeply_nested_campaign_ends_validation_failed(fake: FakeKube) -> None:
    handlers.allow_deep_objects()
    body = fake.campaign(trainable={"entrypoint": "a:B", "config": nested(5_000)})
    campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
    status = fake.status()
    assert status.phase is Phase.VALIDATION_FAILED and fake.created == []
    assert "nests deeper than 10 levels" in (status.message or "")
    assert len(json.dumps(status.to_dict())) < 4096
