"""A budget in CPU-hours end to end on the Kubernetes emulator: the real ``hpo operator`` process,
the KubeRay stand-in running the RayJob's real driver on local Ray. The usage and condition
BudgetExhausted the driver publishes reach the HPOCampaign's status, the operator posts a
BudgetExhausted event and serves the usage gauge, and the campaign succeeds with its best trial.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.support.campaigns import METERED_STEP, on_metered_budget
from tests.support.cluster import EmulatedCluster, OperatorProcess
from tests.support.poll import wait_until

from .conftest import campaign_doc

pytestmark = pytest.mark.k8s
NAME = "budgeted"


@dataclass
class Outcome:
    status: dict[str, Any]
    events: list[dict[str, Any]]
    metrics: str


def _final(cluster: EmulatedCluster) -> dict[str, Any] | None:
    status = (cluster.get_json("hpocampaign", NAME) or {}).get("status") or {}
    return status if status.get("phase") in ("Succeeded", "Failed") else None


@pytest.fixture(scope="module")
def outcome(cluster: EmulatedCluster, operator: OperatorProcess) -> Iterator[Outcome]:
    doc = campaign_doc(NAME, **on_metered_budget("finishRung"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    status = wait_until(lambda: _final(cluster), 240, message="a final phase")
    items = (cluster.get_json("events") or {}).get("items", [])
    yield Outcome(status=status,
                  events=[e for e in items if e.get("involvedObject", {}).get("name") == NAME],
                  metrics=operator.metrics())


def test_a_spent_budget_ends_the_campaign_succeeded_with_its_usage_in_the_status(
        outcome: Outcome) -> None:
    status = outcome.status
    assert status["phase"] == "Succeeded", status
    assert status["bestTrial"]["config"]["x"] == 0.3
    assert status["message"].startswith("budget cpuHours"), status["message"]
    usage = status["usage"]
    assert usage["trialsStarted"] == 3 and usage["gpuHours"] == 0
    assert usage["cpuHours"] == pytest.approx(14 * METERED_STEP / 3600)  # 8 + 2 + 4 iterations
    assert usage["savedCpuHours"] == pytest.approx(6 * METERED_STEP / 3600)
    exhausted = next(c for c in status["conditions"] if c["type"] == "BudgetExhausted")
    assert exhausted["status"] == "True" and "cpuHours" in exhausted["message"]


def test_the_operator_posts_one_budget_event_and_serves_the_usage(outcome: Outcome) -> None:
    budget_events = [e for e in outcome.events if e["reason"] == "BudgetExhausted"]
    assert len(budget_events) == 1 and budget_events[0]["type"] == "Normal", outcome.events
    assert "no new trials" in budget_events[0]["message"]
    value = re.search(r'hpo_campaign_usage_cpu_hours\{campaign="budgeted",namespace="default"\} '
                      r'(\S+)', outcome.metrics)
    assert value and float(value.group(1)) == pytest.approx(outcome.status["usage"]["cpuHours"])
    assert json.dumps(outcome.status).count("BudgetExhausted") == 1  # one condition, no copies
