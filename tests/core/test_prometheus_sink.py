"""The driver's Prometheus metrics, scraped over real HTTP."""

from __future__ import annotations

import urllib.request

from hpo_operator.driver.prometheus_sink import PrometheusSink
from hpo_operator.campaign.status import CampaignStatus, TrialCounts, TrialSummary


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("hpo_driver")}


def test_results_counter_trials_best_and_time_to_target():
    sink = PrometheusSink("c1", 0, addr="127.0.0.1")
    try:
        status = CampaignStatus(results_processed=7, trials=TrialCounts(total=3, running=2,
                                                                        completed=1))
        sink.publish(status)
        metrics = scrape(sink.port)
        assert metrics['hpo_driver_trial_results_total{campaign="c1"}'] == 7
        assert metrics['hpo_driver_trials{campaign="c1",state="running"}'] == 2
        assert not any(k.startswith("hpo_driver_time_to_target") for k in metrics)
        status.results_processed = 12
        status.best_trial = TrialSummary(id="t", config={}, metric=0.25, iteration=3)
        status.time_to_target_seconds = 42.5
        sink.publish(status)
        sink.publish(status)  # the same snapshot twice must not count results twice
        metrics = scrape(sink.port)
        assert metrics['hpo_driver_trial_results_total{campaign="c1"}'] == 12
        assert metrics['hpo_driver_best_objective{campaign="c1"}'] == 0.25
        assert metrics['hpo_driver_time_to_target_seconds{campaign="c1"}'] == 42.5
    finally:
        sink.close()


def test_usage_gauges_follow_the_status():
    from hpo_operator.campaign.status import Usage

    sink = PrometheusSink("c2", 0, addr="127.0.0.1")
    try:
        sink.publish(CampaignStatus(usage=Usage(gpu_hours=1.5, cpu_hours=6.0)))
        metrics = scrape(sink.port)
        assert metrics['hpo_driver_usage_gpu_hours{campaign="c2"}'] == 1.5
        assert metrics['hpo_driver_usage_cpu_hours{campaign="c2"}'] == 6.0
    finally:
        sink.close()
