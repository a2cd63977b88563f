"""A budget in resource-hours as the operator shows it: status.usage and condition BudgetExhausted
folded from the driver's progress, one event when the budget runs out, and gauges per campaign.
Pure: no cluster."""

from __future__ import annotations

from typing import Any

from prometheus_client import generate_latest

from hpo_operator.campaign.status import CampaignStatus, Phase, TrialSummary, Usage
from hpo_operator.campaign.usage import BUDGET_EXHAUSTED
from hpo_operator.controller import reconcile
from hpo_operator.controller.metrics import Metrics

SPENT = ("budget spent (cpuHours: 2.01 of 2 spent): no new trials; running trials stop at "
         "their next milestone")


def rayjob(deployment: str, job: str) -> dict[str, Any]:
    return {"metadata": {"name": "c-tune"},
            "status": {"jobDeploymentStatus": deployment, "jobStatus": job}}


def driver_progress(cpu_hours: float, spent: bool = False, phase: Phase = Phase.RUNNING,
                    message: str | None = None) -> CampaignStatus:
    best = TrialSummary(id="a", config={"x": 0.3}, metric=0.1, iteration=4)
    status = CampaignStatus(phase=phase, metric="loss", best_trial=best, top_trials=[best],
                            message=message,
                            usage=Usage(cpu_hours=cpu_hours, gpu_hours=cpu_hours / 4,
                                        trials_started=3, saved_cpu_hours=0.5,
                                        saved_gpu_hours=0.125))
    if spent:
        status.set_condition(BUDGET_EXHAUSTED, True, "BudgetSpent", SPENT)
    return status


def test_usage_and_budget_exhausted_reach_the_status_and_the_event_is_posted_once() -> None:
    running = reconcile.fold(CampaignStatus(phase=Phase.PROVISIONING), rayjob("Running", "RUNNING"),
                             driver_progress(1.0), "min")
    assert running.usage == driver_progress(1.0).usage
    assert running.condition(BUDGET_EXHAUSTED) is None
    spent = reconcile.fold(running, rayjob("Running", "RUNNING"), driver_progress(2.01, True),
                           "min")
    assert spent.usage is not None and spent.usage.cpu_hours == 2.01
    condition = spent.condition(BUDGET_EXHAUSTED)
    assert condition is not None and condition.status == "True" and condition.message == SPENT
    events = reconcile.milestones(running, spent)
    assert [(e.type, e.reason, e.message) for e in events] == [("Normal", BUDGET_EXHAUSTED, SPENT)]
    final = reconcile.fold(spent, rayjob("Complete", "SUCCEEDED"),
                           driver_progress(2.05, True, Phase.SUCCEEDED, "budget cpuHours: ..."),
                           "min")
    assert final.phase is Phase.SUCCEEDED and final.usage.cpu_hours == 2.05  # type: ignore[union-attr]
    assert final.condition(BUDGET_EXHAUSTED) is not None and final.best_trial is not None
    assert [e.reason for e in reconcile.milestones(spent, final)] == ["Succeeded"]  # not again
    patch = reconcile.status_patch(running, spent)
    assert patch is not None and patch["usage"] == {"cpuHours": 2.01, "gpuHours": 0.5025}


def test_usage_gauges_per_campaign_are_set_and_forgotten() -> None:
    metrics = Metrics()
    metrics.observe("ns", "c1", driver_progress(2.0))
    metrics.observe("ns", "c2", CampaignStatus(phase=Phase.RUNNING))  # no usage yet: no series
    text = generate_latest(metrics.registry).decode()
    assert 'hpo_campaign_usage_cpu_hours{campaign="c1",namespace="ns"} 2.0' in text
    assert 'hpo_campaign_usage_gpu_hours{campaign="c1",namespace="ns"} 0.5' in text
    assert 'usage_cpu_hours{campaign="c2"' not in text
    metrics.forget("ns", "c1")
    assert 'campaign="c1"' not in generate_latest(metrics.registry).decode()
