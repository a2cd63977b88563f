"""End to end on the Kubernetes emulator: real kubectl, a real ``hpo operator`` (kopf) process and
the KubeRay stand-in running each RayJob's real entrypoint on local Ray.

One campaign goes through a rough life (module fixture ``lifecycle``): its driver is killed
mid-run, so the RayJob retry must resume the Tune experiment, and the operator is killed and
restarted while the retry runs. The tests below then check one behaviour each on what happened.
Starting Ray dominates the cost, so the scenario runs once.
"""

from __future__ import annotations

import base64
import json
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hpo_operator.driver.saved_state import saved_trials

from tests.support.cluster import EmulatedCluster, OperatorProcess
from tests.support.kuberay_standin import KubeRayStandIn
from tests.support.poll import wait_until

from .conftest import campaign_doc

pytestmark = pytest.mark.k8s
TRIALS = 6


def apply(cluster: EmulatedCluster, doc: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))


def jsonpath(cluster: EmulatedCluster, name: str, path: str) -> str:
    return cluster.kubectl("get", "hpoc", name, "-o", f"jsonpath={{{path}}}", check=False)


def phase_is(cluster: EmulatedCluster, name: str, *phases: str) -> str | None:
    phase = jsonpath(cluster, name, ".status.phase")
    return phase if phase in phases else None


def rayjobs(cluster: EmulatedCluster) -> list[str]:
    return [j["metadata"]["name"] for j in (cluster.get_json("rayjobs") or {}).get("items", [])]


def events(cluster: EmulatedCluster, name: str) -> list[dict[str, Any]]:
    items = (cluster.get_json("events") or {}).get("items", [])
    return [e for e in items if e.get("involvedObject", {}).get("name") == name]


def journal(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [(w[0], w[1]) for w in (ln.split() for ln in path.read_text().splitlines()) if len(w) == 2]


def driver_stalled(cluster: EmulatedCluster, status: str) -> dict[str, Any] | None:
    conditions = json.loads(jsonpath(cluster, "toy", ".status.conditions") or "[]")
    found = next((c for c in conditions if c["type"] == "DriverStalled"), None)
    return found if found is not None and found["status"] == status else None


def pause_the_driver(cluster: EmulatedCluster,
                     standin: KubeRayStandIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """SIGSTOP the running driver until the operator reports it stalled, then let it go on."""
    driver = standin.drivers["default/toy-tune"]
    driver.send_signal(signal.SIGSTOP)
    try:
        paused = wait_until(lambda: driver_stalled(cluster, "True"), 60,
                            message="DriverStalled=True for a stopped driver")
    finally:
        driver.send_signal(signal.SIGCONT)
    resumed = wait_until(lambda: driver_stalled(cluster, "False"), 60,
                         message="DriverStalled=False once the driver publishes again")
    return paused, resumed


def saved_as_finished(storage: Path, count: int) -> set[str] | None:
    """The trials the newest saved experiment state under ``storage`` holds as finished, once
    there are ``count``."""
    states = sorted(storage.glob("**/experiment_state-*.json"), key=lambda f: f.name)
    trials = saved_trials(states[-1]) if states else None
    done = {trial for trial, status in trials or () if status == "TERMINATED"}
    return done if len(done) >= count else None


@dataclass
class Lifecycle:
    phase: str
    best_trial: dict[str, Any]
    status: dict[str, Any]
    finished_before_kill: set[str]
    journal: list[tuple[str, str]]
    rayjobs_seen: list[list[str]]
    events: list[dict[str, Any]]
    attempts: int
    metrics: str
    driver_env: dict[str, str]
    token: str
    rayjob: dict[str, Any]
    stalled: tuple[dict[str, Any], dict[str, Any]]  # DriverStalled while paused, once resumed


@pytest.fixture(scope="module")
def lifecycle(cluster: EmulatedCluster, operator: OperatorProcess, standin: KubeRayStandIn,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    log = tmp_path_factory.mktemp("toy") / "journal.txt"
    apply(cluster, campaign_doc(
        "toy", budget={"trials": TRIALS, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 3},
        trainable={"config": {"journal": str(log), "step_seconds": 0.5}}))
    seen = [rayjobs(cluster)]
    wait_until(lambda: phase_is(cluster, "toy", "Running"), 60, message="phase Running")
    wait_until(lambda: sum(k == "done" for k, _ in journal(log)) >= 2, 120,
               message="two finished trials")
    # A trial's last result is written before the saved experiment state records it as done:
    # the trials a retry must not run again are those the saved state holds as finished.
    finished = wait_until(lambda: saved_as_finished(standin.workdir / "default_toy-tune", 2),
                          120, interval=0.2, message="the saved state to record two trials")
    standin.kill_driver("default/toy-tune")  # the head pod dies; KubeRay retries the driver

    wait_until(lambda: standin.attempts.get("default/toy-tune") == 2, 30,
               message="the driver retry")
    seen.append(rayjobs(cluster))
    operator.kill()  # while the retry runs: the new operator must adopt, not re-create
    operator.start()
    stalled = pause_the_driver(cluster, standin)
    phase = wait_until(lambda: phase_is(cluster, "toy", "Succeeded", "Failed"), 180,
                       message="a final phase")
    seen.append(rayjobs(cluster))
    secret = cluster.get_json("secret", "toy-ray-token") or {}
    yield Lifecycle(
        phase=phase, best_trial=json.loads(jsonpath(cluster, "toy", ".status.bestTrial")),
        status=(cluster.get_json("hpocampaign", "toy") or {}).get("status", {}),
        finished_before_kill=finished, journal=journal(log), rayjobs_seen=seen,
        events=events(cluster, "toy"), attempts=standin.attempts["default/toy-tune"],
        metrics=operator.metrics(), driver_env=standin.pod_env["default/toy-tune"],
        token=base64.b64decode(secret.get("data", {}).get("auth_token", "")).decode(),
        rayjob=cluster.get_json("rayjob", "toy-tune") or {}, stalled=stalled)


def test_campaign_succeeds_with_the_best_trial_in_status(lifecycle: Lifecycle) -> None:
    assert lifecycle.phase == "Succeeded", lifecycle.status
    best = lifecycle.best_trial
    assert set(best) >= {"id", "config", "metric", "iteration"}
    assert 0.0 <= best["config"]["x"] <= 1.0
    assert best["metric"] == min(t["metric"] for t in lifecycle.status["topTrials"])
    assert lifecycle.status["trials"]["completed"] == TRIALS
    assert lifecycle.status["trials"]["total"] == TRIALS
    assert lifecycle.status["message"].startswith("best loss")
    reasons = [e["reason"] for e in lifecycle.events]
    assert {"Provisioned", "Running", "NewBestTrial", "Succeeded"} <= set(reasons), reasons
    # How to train the winner again reaches the custom resource through the progress ConfigMap.
    record = best["reproduce"]
    assert record["entrypoint"] == "tests.support.trainables:Quadratic", record
    assert record["config"]["x"] == best["config"]["x"] and "ray" in record["versions"]
    assert record["image"]  # the driver is told its image


def test_the_driver_ran_with_ray_token_auth_on(lifecycle: Lifecycle) -> None:
    """The driver's local Ray required the campaign's token, which reached it only through the
    Secret the operator made (the RayJob names the Secret, never the token)."""
    assert len(lifecycle.token) >= 43
    assert lifecycle.driver_env == {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": lifecycle.token}
    assert lifecycle.token not in json.dumps(lifecycle.rayjob)


def test_driver_retry_resumes_without_rerunning_finished_trials(lifecycle: Lifecycle) -> None:
    assert lifecycle.attempts == 2
    assert lifecycle.status["resumed"] >= 1
    assert lifecycle.status["conditions"]  # the driver's Resumed condition is folded in
    resumed = next(c for c in lifecycle.status["conditions"] if c["type"] == "Resumed")
    assert resumed["status"] == "True"
    starts = [t for k, t in lifecycle.journal if k == "start"]
    assert lifecycle.finished_before_kill and all(
        starts.count(t) == 1 for t in lifecycle.finished_before_kill), lifecycle.journal
    assert len(set(starts)) == TRIALS
    assert "ExperimentResumed" in [e["reason"] for e in lifecycle.events]


def test_a_stopped_driver_is_reported_stalled_and_recovers(lifecycle: Lifecycle) -> None:
    paused, resumed = lifecycle.stalled
    assert paused["reason"] == "NoHeartbeat" and "no progress from the driver" in paused["message"]
    assert resumed["reason"] == "HeartbeatResumed"
    assert "DriverStalled" in [e["reason"] for e in lifecycle.events]  # a Warning event
    assert lifecycle.phase == "Succeeded"  # a stall is reported, not a failure


def test_operator_restart_creates_nothing_twice(lifecycle: Lifecycle) -> None:
    assert lifecycle.rayjobs_seen[1:] == [["toy-tune"], ["toy-tune"]]
    reasons = [e["reason"] for e in lifecycle.events]
    assert reasons.count("Provisioned") == 1 and reasons.count("Succeeded") == 1, reasons


def test_metrics_are_served_over_http(lifecycle: Lifecycle) -> None:
    scrape = lifecycle.metrics
    assert 'hpo_campaigns{phase="Succeeded"} 1.0' in scrape
    assert re.search(r'hpo_campaign_trials\{campaign="toy",namespace="default",state="completed"\} '
                     rf'{TRIALS}\.0', scrape), scrape
    value = re.search(r'hpo_campaign_best_objective\{campaign="toy",metric="loss",'
                      r'namespace="default"\} (\S+)', scrape)
    assert value and float(value.group(1)) == pytest.approx(lifecycle.best_trial["metric"])
    assert re.search(r'hpo_reconcile_duration_seconds_count\{trigger="\w+"\} [1-9]', scrape)
    assert "# TYPE hpo_reconcile_errors_total counter" in scrape


def test_editing_an_accepted_spec_is_refused_loudly(cluster: EmulatedCluster,
                                                   lifecycle: Lifecycle) -> None:
    # The emulator does not evaluate the CRD's transition rule (an API server refuses the edit);
    # the operator must still say that the change is ignored.
    doc = cluster.get_json("hpocampaign", "toy")
    doc["spec"]["budget"]["trials"] = TRIALS + 10
    apply(cluster, {"apiVersion": doc["apiVersion"], "kind": doc["kind"],
                    "metadata": {"name": "toy", "namespace": "default"}, "spec": doc["spec"]})
    warning = wait_until(lambda: [e for e in events(cluster, "toy")
                                  if e["reason"] == "SpecChangeIgnored"], 30,
                         message="a Warning event")
    assert warning[0]["type"] == "Warning" and "delete and re-create" in warning[0]["message"]
    assert jsonpath(cluster, "toy", ".status.phase") == "Succeeded"
    assert rayjobs(cluster).count("toy-tune") == 1


def test_deleting_the_campaign_removes_its_children(cluster: EmulatedCluster,
                                                    lifecycle: Lifecycle) -> None:
    # --wait=false: the emulator's watches ignore field selectors, which kubectl's wait needs.
    cluster.kubectl("delete", "hpocampaign", "toy", "--wait=false")
    wait_until(lambda: cluster.get_json("hpocampaign", "toy") is None, 30,
               message="the campaign to go")
    wait_until(lambda: "toy-tune" not in rayjobs(cluster), 30, message="the RayJob to go with it")
    assert cluster.get_json("configmap", "toy-progress") is None
    assert cluster.get_json("configmap", "toy-manifest") is None
    for kind, name in [("secret", "toy-ray-token"), ("serviceaccount", "toy-driver"),
                       ("role", "toy-driver"), ("rolebinding", "toy-driver"),
                       ("networkpolicy", "toy-ray")]:
        assert cluster.get_json(kind, name) is None, (kind, name)


def test_invalid_campaign_ends_validation_failed_with_a_warning_event(
        cluster: EmulatedCluster, operator: OperatorProcess) -> None:
    # A rule the CRD schema cannot express (it spans two sections), so only the operator sees it.
    apply(cluster, campaign_doc("broken", trainable={"config": {"x": 0.5}}))
    wait_until(lambda: phase_is(cluster, "broken", "ValidationFailed"), 30,
               message="ValidationFailed")
    message = jsonpath(cluster, "broken", ".status.message")
    assert "spec.trainable.config.x" in message and "also in spec.searchSpace" in message
    warning = wait_until(lambda: [e for e in events(cluster, "broken")
                                  if e["type"] == "Warning" and e["reason"] == "ValidationFailed"],
                         30, message="the Warning event")
    assert "spec.trainable.config.x" in warning[0]["message"]
    assert "broken-tune" not in rayjobs(cluster)
    assert cluster.get_json("configmap", "broken-manifest") is None


def test_a_rejected_campaign_runs_once_its_spec_is_corrected(
        cluster: EmulatedCluster, operator: OperatorProcess) -> None:
    broken = campaign_doc("fixme", trainable={"config": {"x": 0.5}})
    apply(cluster, broken)
    wait_until(lambda: phase_is(cluster, "fixme", "ValidationFailed"), 30,
               message="ValidationFailed")
    apply(cluster, campaign_doc("fixme", budget={"trials": 1, "maxConcurrentTrials": 1,
                                                 "maxIterationsPerTrial": 1}))
    wait_until(lambda: "fixme-tune" in rayjobs(cluster), 30,
               message="the RayJob of the corrected spec")
    assert jsonpath(cluster, "fixme", ".status.phase") != "ValidationFailed"
    assert "spec is invalid" not in jsonpath(cluster, "fixme", ".status.message")
    cluster.kubectl("delete", "hpocampaign", "fixme", "--wait=false")
    wait_until(lambda: "fixme-tune" not in rayjobs(cluster), 30, message="the RayJob to go")


def test_a_deleted_rayjob_is_created_again_and_its_driver_resumes(
        cluster: EmulatedCluster, operator: OperatorProcess, standin: KubeRayStandIn,
        tmp_path: Path) -> None:
    log = tmp_path / "journal.txt"
    apply(cluster, campaign_doc(
        "heal", budget={"trials": 4, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 3},
        trainable={"config": {"journal": str(log), "step_seconds": 0.5}}))
    wait_until(lambda: sum(k == "done" for k, _ in journal(log)) >= 1, 120,
               message="a finished trial")
    finished = wait_until(lambda: saved_as_finished(standin.workdir / "default_heal-tune", 1),
                          120, interval=0.2, message="the saved state to record a trial")
    cluster.kubectl("delete", "rayjobs", "heal-tune", "--wait=false")

    recreated = wait_until(lambda: [e for e in events(cluster, "heal")
                                    if e["reason"] == "RayJobRecreated"], 30,
                           message="RayJobRecreated")
    assert recreated[0]["type"] == "Warning" and "RayJob/heal-tune" in recreated[0]["message"]
    phase = wait_until(lambda: phase_is(cluster, "heal", "Succeeded", "Failed"), 180,
                       message="a final phase")
    status = (cluster.get_json("hpocampaign", "heal") or {}).get("status", {})
    assert phase == "Succeeded", status
    assert status["trials"]["completed"] == 4 and status["resumed"] >= 1
    starts = [t for k, t in journal(log) if k == "start"]
    assert all(starts.count(t) == 1 for t in finished), journal(log)  # not run again
    cluster.kubectl("delete", "hpocampaign", "heal", "--wait=false")
    wait_until(lambda: "heal-tune" not in rayjobs(cluster), 30, message="the RayJob to go")
