"""Prometheus metrics of the operator, named by the Prometheus conventions (``hpo_`` prefix, base
units in the name, ``_total`` counters). Series per campaign are removed when it is deleted, so a
long-lived operator does not accumulate label sets of campaigns that no longer exist.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ..campaign.status import CampaignStatus, Phase

TRIAL_STATES = ("pending", "running", "paused", "completed", "stopped", "errored")
USAGE_RESOURCES = ("gpu", "cpu")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.campaigns = Gauge("hpo_campaigns", "HPOCampaigns known to the operator, by phase.",
                               ["phase"], registry=self.registry)
        self.trials = Gauge("hpo_campaign_trials", "Trials of a campaign, by state.",
                            ["namespace", "campaign", "state"], registry=self.registry)
        self.best = Gauge("hpo_campaign_best_objective",
                          "Best objective value a campaign has reached (in the metric's units).",
                          ["namespace", "campaign", "metric"], registry=self.registry)
        self.usage = {resource: Gauge(f"hpo_campaign_usage_{resource}_hours",
                                      f"{resource.upper()}-hours a campaign has spent (its "
                                      f"trials' requested {resource.upper()}s times their "
                                      "running time).", ["namespace", "campaign"],
                                      registry=self.registry)
                      for resource in USAGE_RESOURCES}
        self.duration = Histogram("hpo_reconcile_duration_seconds",
                                  "Time to reconcile a campaign (read children, fold, write).",
                                  ["trigger"], registry=self.registry,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.errors = Counter("hpo_reconcile_errors", "Reconciliations that raised an error.",
                              ["trigger"], registry=self.registry)
        self._phases: dict[tuple[str, str], Phase] = {}
        self._best_labels: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        for phase in Phase:
            self.campaigns.labels(phase.value).set(0)

    def observe(self, namespace: str, name: str, status: CampaignStatus) -> None:
        with self._lock:
            self._phases[namespace, name] = status.phase
            self._count_phases()
            for state in TRIAL_STATES:
                self.trials.labels(namespace, name, state).set(getattr(status.trials, state))
            if status.usage is not None:
                for resource, gauge in self.usage.items():
                    gauge.labels(namespace, name).set(getattr(status.usage, f"{resource}_hours"))
            if status.best_trial is not None:
                metric = status.metric or "objective"
                self._best_labels[namespace, name] = metric
                self.best.labels(namespace, name, metric).set(status.best_trial.metric)

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._phases.pop((namespace, name), None)
            self._count_phases()
            for state in TRIAL_STATES:
                _remove(self.trials, namespace, name, state)
            for gauge in self.usage.values():
                _remove(gauge, namespace, name)
            metric = self._best_labels.pop((namespace, name), None)
            if metric is not None:
                _remove(self.best, namespace, name, metric)

    def _count_phases(self) -> None:
        for phase in Phase:
            self.campaigns.labels(phase.value).set(
                sum(1 for p in self._phases.values() if p is phase))

    @contextmanager
    def timed(self, trigger: str) -> Iterator[None]:
        """Time a reconciliation and count it as an error if it raises (then re-raise)."""
        start = time.perf_counter()
        try:
            yield
        except Exception:
            self.errors.labels(trigger).inc()
            raise
        finally:
            self.duration.labels(trigger).observe(time.perf_counter() - start)

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        start_http_server(port, addr=address, registry=self.registry)


def _remove(metric: Gauge, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass
