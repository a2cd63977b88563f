"""Driver-side Prometheus metrics, fed from the same coalesced snapshots as every other sink.

The operator exports campaign-level gauges; these come from inside the Ray cluster, where the
driver sees every result: results processed, the time the campaign took to reach its target, and
the resource-hours it spent.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from ..campaign.status import CampaignStatus

_STATES = ("pending", "running", "paused", "completed", "stopped", "errored")


class PrometheusSink:
    """Exposes one campaign's progress on ``/metrics`` of its own HTTP server."""

    def __init__(self, campaign: str, port: int, addr: str = "0.0.0.0",
                 registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = {"campaign": campaign}
        self._results = Counter("hpo_driver_trial_results", "Trial results the driver processed",
                                labels.keys(), registry=self.registry).labels(**labels)
        self._trials = Gauge("hpo_driver_trials", "Trials of the campaign by state",
                             [*labels.keys(), "state"], registry=self.registry)
        self._best = Gauge("hpo_driver_best_objective", "Best objective value so far",
                           labels.keys(), registry=self.registry).labels(**labels)
        self._to_target = Gauge("hpo_driver_time_to_target_seconds",
                                "Seconds from the campaign's start until it reached "
                                "spec.objective.target (absent until then)",
                                labels.keys(), registry=self.registry)
        self._elapsed = Gauge("hpo_driver_elapsed_seconds", "Seconds since the campaign started",
                              labels.keys(), registry=self.registry).labels(**labels)
        self._usage = {resource: Gauge(f"hpo_driver_usage_{resource}_hours",
                                       f"{resource.upper()}-hours the campaign has spent",
                                       labels.keys(), registry=self.registry).labels(**labels)
                       for resource in ("gpu", "cpu")}
        self._labels = labels
        self._counted = 0
        self.server, self.thread = start_http_server(port, addr=addr, registry=self.registry)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def publish(self, status: CampaignStatus) -> None:
        # Counters only go up: add what arrived since the last snapshot.
        if status.results_processed > self._counted:
            self._results.inc(status.results_processed - self._counted)
            self._counted = status.results_processed
        for state in _STATES:
            self._trials.labels(**self._labels, state=state).set(getattr(status.trials, state))
        if status.best_trial is not None:
            self._best.set(status.best_trial.metric)
        if status.time_to_target_seconds is not None:
            self._to_target.labels(**self._labels).set(status.time_to_target_seconds)
        self._elapsed.set(status.elapsed_seconds or 0.0)
        if status.usage is not None:
            for resource, gauge in self._usage.items():
                gauge.set(getattr(status.usage, f"{resource}_hours"))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
