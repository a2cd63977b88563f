"""A campaign's RayJob in containers: the operator image provisions it on the Kubernetes emulator,
and the KubeRay stand-in (in place of KubeRay, which is not here) runs its RayCluster as trainer
containers built from the RayJob's pod templates: a head and two workers on an internal test
network, the experiment on a host directory standing in for the PersistentVolumeClaim, the driver
run in the head container, publishing progress to the emulator at this machine's address on the
network. The trainer image stands in for Ray's image (see ``scripts/build-images.sh``).

One campaign (module fixture ``run``) goes through it with ``campaigns.runAsUser`` set: its head
container is killed once two trials have finished, and the retry, on a new cluster, resumes the
experiment from the volume. The tests then check one behaviour each on what happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.operator.conftest import campaign_doc
from tests.operator.test_e2e_emulator import apply, events, jsonpath, phase_is
from tests.support.campaigns import replace
from tests.support.cluster import EmulatedCluster
from tests.support.containers import Network
from tests.support.kuberay_pods import ContainerPods
from tests.support.kuberay_standin import KubeRayStandIn, serving
from tests.support.operator_container import OperatorContainer
from tests.support.poll import wait_until

from .conftest import Lab

pytestmark = [pytest.mark.containers, pytest.mark.k8s, pytest.mark.slow]
RUN_AS = 2000  # not the image's own user (1000): the containers run as this because it is set
TRIALS = 6
KEY = "default/cgcnn-tune"
SMALL = {"atom_embedding_size": 8, "num_graph_conv_layers": 1, "fc_feat_size": 16,
         "num_fc_layers": 1, "batch_size": 32}


@pytest.fixture(scope="module")
def pods(lab: Lab, network: Network, cluster: EmulatedCluster) -> ContainerPods:
    return ContainerPods(lab.podman, network, cluster.server, cluster.kubeconfig,
                         cluster.workdir / "pods")


@pytest.fixture(scope="module")
def standin(cluster: EmulatedCluster, pods: ContainerPods) -> Iterator[KubeRayStandIn]:
    with serving(cluster, pods) as runner:
        yield runner


@pytest.fixture(scope="module")
def operator(lab: Lab, network: Network, cluster: EmulatedCluster,
             standin: KubeRayStandIn) -> Iterator[OperatorContainer]:
    container = OperatorContainer(lab.podman, lab.images.operator, network, cluster, {
        "HPO_IMAGE": lab.images.trainer, "HPO_RUN_AS_USER": str(RUN_AS),
        "HPO_EXPERIMENT_CHECKPOINT_SECONDS": "1", "HPO_RESYNC_SECONDS": "5"}).start()
    yield container
    container.stop()


def terminated_trials(experiment: Path) -> set[str]:
    """Trials the experiment's last saved state has as finished: what a resume keeps."""
    states = sorted(experiment.glob("experiment_state-*.json"))
    if not states:
        return set()
    try:
        data = json.loads(states[-1].read_text())
    except ValueError:  # being written
        return set()
    trials = (json.loads(t[0]) if isinstance(t[0], str) else t[0] for t in data["trial_data"])
    return {t["trial_id"] for t in trials if t.get("status") == "TERMINATED"}


def results(experiment: Path) -> dict[str, list[dict[str, Any]]]:
    """Each trial's rows in its result.json, by trial id."""
    found = {}
    for path in experiment.glob("*/result.json"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if rows:
            found[rows[0]["trial_id"]] = rows
    return found


@dataclass
class Run:
    phase: str
    status: dict[str, Any]
    best_trial: dict[str, Any]
    finished_before_kill: dict[str, list[dict[str, Any]]]
    results: dict[str, list[dict[str, Any]]]
    experiment: Path
    containers: list[dict[str, Any]]
    events: list[dict[str, Any]]
    attempts: int


def _logs(standin: KubeRayStandIn) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                     for p in sorted(standin.workdir.glob("*.driver-*.log")))


def not_ended(cluster: EmulatedCluster) -> bool:
    """False while the campaign runs; an early end stops the wait at once, saying how."""
    phase = phase_is(cluster, "cgcnn", "Succeeded", "Failed")
    if phase:
        raise AssertionError(f"the campaign ended {phase} before the head could be killed: "
                             f"{jsonpath(cluster, 'cgcnn', '.status.message')}")
    return False


@contextmanager
def explained(cluster: EmulatedCluster, standin: KubeRayStandIn,
              pods: ContainerPods) -> Iterator[None]:
    """A wait that times out says what was seen: the campaign's status, the RayJob's, the
    driver's output and the end of each container's log."""
    try:
        yield
    except TimeoutError as exc:
        for cluster_pods in pods.clusters.values():
            for pod, cid in list(cluster_pods.containers.items()):
                pods.podman.save_logs(cid, pod)
        containers = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}"
                               for p in sorted(pods.podman.logs.glob("cgcnn-*.log")))
        raise TimeoutError(
            f"{exc}\ncampaign status: {jsonpath(cluster, 'cgcnn', '.status')}\n"
            f"RayJob status: {cluster.kubectl('get', 'rayjob', 'cgcnn-tune', '-o', 'jsonpath={.status}', check=False)}\n"
            f"drivers:\n{_logs(standin)}\ncontainers:\n{containers}") from None


@pytest.fixture(scope="module")
def run(cluster: EmulatedCluster, operator: OperatorContainer, standin: KubeRayStandIn,
        pods: ContainerPods) -> Iterator[Run]:
    apply(cluster, campaign_doc(
        "cgcnn", objective={"metric": "val_mae", "mode": "min"},
        searchSpace=replace({"lr": {"type": "float", "min": 1e-3, "max": 3e-2, "log": True}}),
        strategy={"scheduler": {"type": "fifo"}, "searcher": {"type": "random", "seed": 0}},
        budget={"trials": TRIALS, "maxConcurrentTrials": 2, "maxIterationsPerTrial": 4},
        trainable=replace({"entrypoint": "hpo_trainer.cgcnn:CGCNNTrainable", "config": {
            "dataset": "emt-adsorption-tiny", "seed": 0, "epochs_per_step": 5, **SMALL}}),
        resources={"perTrial": {"cpu": 1}, "cluster": {
            "workers": 2, "cpusPerWorker": 1, "memoryPerWorker": "2Gi",
            "headCpus": 1, "headMemory": "2Gi"}},
        storage={"path": "/mnt/hpo-runs", "volumeClaim": "hpo-runs"}))
    experiment = pods.storage / "default/hpo-runs/default/cgcnn"
    with explained(cluster, standin, pods):
        wait_until(lambda: phase_is(cluster, "cgcnn", "Running"), 600, message="phase Running")
        wait_until(lambda: len(terminated_trials(experiment)) >= 2 or not_ended(cluster), 600,
                   message="two finished trials in the saved experiment state")
        finished = {t: rows for t, rows in results(experiment).items()
                    if t in terminated_trials(experiment)}
        assert len(terminated_trials(experiment)) < TRIALS, "the campaign ended before the kill"
        pods.kill_head(KEY)  # the head pod dies: KubeRay retries the driver on a new cluster
        wait_until(lambda: standin.attempts.get(KEY) == 2, 120, message="the driver retry")
        phase = wait_until(lambda: phase_is(cluster, "cgcnn", "Succeeded", "Failed"), 900,
                           message="a final phase of the campaign")
        status = (cluster.get_json("hpocampaign", "cgcnn") or {}).get("status", {})
        wait_until(lambda: not pods.clusters[KEY].containers, 120,
                   message="the RayCluster's removal")
    yield Run(phase=phase, status=status,
              best_trial=json.loads(jsonpath(cluster, "cgcnn", ".status.bestTrial") or "{}"),
              finished_before_kill=finished, results=results(experiment), experiment=experiment,
              containers=list(pods.every_container), events=events(cluster, "cgcnn"),
              attempts=standin.attempts[KEY])
    cluster.kubectl("delete", "hpocampaign", "cgcnn", "--wait=false")


def test_the_campaign_succeeds_with_its_best_trial(run: Run, standin: KubeRayStandIn) -> None:
    assert run.phase == "Succeeded", (run.status, _logs(standin))
    assert run.status["trials"]["completed"] == TRIALS, run.status["trials"]
    assert set(run.best_trial) >= {"id", "config", "metric", "iteration"}
    assert run.best_trial["metric"] == min(t["metric"] for t in run.status["topTrials"])
    reasons = {e["reason"] for e in run.events}
    assert {"Provisioned", "Running", "Succeeded"} <= reasons, reasons


def test_trials_ran_in_the_worker_containers(run: Run) -> None:
    workers = {c["pod"] for c in run.containers if "-worker-" in c["pod"]}
    hosts = {row["hostname"] for rows in run.results.values() for row in rows}
    assert hosts and hosts <= workers, (hosts, workers)  # the head has no CPUs for trials
    assert len(run.results) == TRIALS


def test_the_retry_resumed_without_rerunning_finished_trials(run: Run) -> None:
    assert run.attempts == 2
    assert run.status["resumed"] >= 1, run.status
    assert len(run.finished_before_kill) >= 2
    for trial, rows in run.finished_before_kill.items():
        assert run.results[trial] == rows, f"trial {trial} ran again after the resume"
    clusters = {c["cluster"] for c in run.containers}
    assert len(clusters) == 2, clusters  # a new RayCluster for the retry, as KubeRay makes


def test_every_container_ran_as_the_configured_user(run: Run) -> None:
    assert len(run.containers) == 6  # head and two workers, twice
    for container in run.containers:
        args = container["args"]
        assert args[args.index("--user") + 1] == str(RUN_AS), container["pod"]
        assert "--cap-drop=ALL" in args and "--security-opt=no-new-privileges" in args
    owners = {p.stat().st_uid for p in run.experiment.rglob("*") if p.is_file()}
    assert owners == {RUN_AS}, owners


def test_the_pods_were_built_from_the_rayjob_templates(run: Run) -> None:
    head = next(c["args"] for c in run.containers if c["pod"].endswith("-head"))
    worker = next(c["args"] for c in run.containers if "-worker-" in c["pod"])
    assert head[head.index("--cpus") + 1] == "1" and head[head.index("--memory") + 1] == str(2**31)
    assert any(a.endswith(":/etc/hpo:ro") for a in head), head  # the manifest ConfigMap
    assert any(a.endswith(":/mnt/hpo-runs") for a in worker), worker  # the claim
    command = head[-1]
    assert "ray start --head" in command and "--num-cpus=0" in command, command
    assert "--address=" in worker[-1] and "--num-cpus=1" in worker[-1], worker[-1]
    assert f"--memory={2**31}" in worker[-1], worker[-1]


def test_the_finished_campaign_leaves_no_container(run: Run, standin: KubeRayStandIn,
                                                   lab: Lab) -> None:
    running = set(lab.podman("ps", "-a", "--format", "{{.ID}}").split())
    assert not {c["id"][:12] for c in run.containers} & running

