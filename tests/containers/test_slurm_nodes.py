"""Campaigns as Slurm batch jobs on a real multi-node cluster: ``hpo submit --backend slurm
--nodes 3`` of a tiny CGCNN campaign, from the controller container of
:class:`tests.support.slurm_nodes.SlurmNodes` (Slurm 22.05 from Debian; a controller and three
compute nodes of one CPU each, so that three concurrent trials need all three nodes).

One cluster serves the module; its jobs run one after the other (each takes every node). Each
test checks one behaviour and that every node is left without a Ray process.

What the fixture does differently from a real centre, none of it in the rendered script:

* the nodes are containers on one machine, with ``--init`` reaping orphans as a node's init
  does; daemons are started by hand (no systemd), as root, and jobs run as root;
* Slurm knows each node's address from slurm.conf (``NodeAddr``), not from DNS;
* one host directory mounted at the same path on every node stands in for the shared
  filesystem (run directories, experiment storage, the data sets via ``HPO_DATA_DIR``);
* the operator package is the checkout's, mounted over the image's copy (in CI the same files);
* the time limit is met by sending what Slurm sends before it (``scancel --batch
  --signal=USR1``, the script's ``--signal=B:USR1@grace``) once trials have finished: Slurm
  itself sends it at a time of its own choosing up to a minute early, so which trials had
  finished would be left to chance;
* a worker node lost mid-campaign is one whose raylet is killed (its slurmd stays up, as on a
  node whose Ray dies); a node that never joins is one whose slurmd was killed just before the
  submission, within ``SlurmdTimeout``, so that Slurm still allocates it.
* Ray's object store is in /tmp (podman's /dev/shm is 1 GB), which Ray warns about.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.campaigns import campaign, replace, write
from tests.support.containers import Network
from tests.support.poll import wait_until
from tests.support.slurm_nodes import SlurmNodes, node_image

from .conftest import Lab
from .test_rayjob_containers import SMALL, results, terminated_trials

pytestmark = [pytest.mark.containers, pytest.mark.slurm, pytest.mark.slow]
NODES = 3


@pytest.fixture(scope="module")
def slurm(lab: Lab, network: Network,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmNodes]:
    shared = tmp_path_factory.mktemp("slurm-shared")
    image, _ = node_image(lab.podman, lab.images.trainer, lab.podman.logs / "slurm-node.log")
    nodes = SlurmNodes(lab.podman, network, image, shared, computes=NODES)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.close()
        if lab.images.ids:  # built on this session's trainer image, which goes too
            lab.podman("rmi", "-f", image, timeout=300, check=False)


def cgcnn(name: str, trials: int, iterations: int, epochs: int = 1) -> dict[str, Any]:
    return campaign(
        name, objective={"metric": "val_mae", "mode": "min"},
        searchSpace=replace({"lr": {"type": "float", "min": 1e-3, "max": 3e-2, "log": True}}),
        strategy={"scheduler": {"type": "fifo"}, "searcher": {"type": "random", "seed": 0}},
        budget={"trials": trials, "maxConcurrentTrials": NODES,
                "maxIterationsPerTrial": iterations},
        trainable=replace({"entrypoint": "hpo_trainer.cgcnn:CGCNNTrainable", "config": {
            "dataset": "emt-adsorption-tiny", "seed": 0, "epochs_per_step": epochs, **SMALL}}),
        resources={"perTrial": {"cpu": 1}},
        # A new actor per trial: a reused one keeps trials on the node that started first.
        runtime={"failFast": False, "maxTrialRetries": 2, "reuseActors": False})


class Jobs:
    """``hpo`` in the controller container, on the cluster's shared filesystem."""

    def __init__(self, slurm: SlurmNodes) -> None:
        self.slurm = slurm
        self.work = slurm.shared / "work"
        self.storage = slurm.shared / "runs"
        self.work.mkdir(exist_ok=True)

    def hpo(self, *args: str, timeout: float = 120):
        return self.slurm.exec("ctl", "hpo", *args, check=False, timeout=timeout,
                               workdir=self.work)

    def submit(self, doc: dict[str, Any], *extra: str) -> str:
        path = write(self.work, doc)
        proc = self.hpo("submit", "--backend", "slurm", str(path), "--nodes", str(NODES),
                        "--cpus-per-task", "1", "--workdir", str(self.work),
                        "--storage", str(self.storage), "--ray-start-timeout", "120", *extra)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def status(self, job: str, wait: bool = False) -> dict[str, Any]:
        args = ["--wait", "--timeout", "480"] if wait else []
        proc = self.hpo("status", job, "--storage", str(self.storage), "--json", *args,
                        timeout=600)
        assert proc.stdout, proc.stderr
        return dict(json.loads(proc.stdout))

    def final(self, job: str) -> dict[str, Any]:
        """The job's status once Slurm says it ended, and no Ray process is left on any node."""
        result = self.status(job, wait=True)
        wait_until(lambda: not self.ray_left(), 60, interval=1,
                   message="every node without Ray processes")
        return result

    def ray_left(self) -> dict[str, list[str]]:
        return {n: p for n in self.slurm.nodes if (p := self.slurm.ray_processes(n))}

    def output(self, result: dict[str, Any]) -> str:
        return Path(result["runDir"], f"slurm-{result['jobId']}.out").read_text()

    def experiment(self, name: str) -> Path:
        return self.storage / name


@pytest.fixture(scope="module")
def jobs(slurm: SlurmNodes) -> Jobs:
    return Jobs(slurm)


def condition(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Complete")


def hosts(rows: list[dict[str, Any]]) -> list[str]:
    return [row["hostname"] for row in rows]


def test_a_campaign_runs_on_every_node_and_the_job_ends_by_itself(jobs: Jobs) -> None:
    job = jobs.submit(cgcnn("cgcnn-nodes", trials=4, iterations=3))

    def ended() -> bool:
        result = jobs.status(job)
        return result["slurm"] is not None and result["slurm"]["state"] not in (
            "PENDING", "RUNNING", "CONFIGURING", "COMPLETING")
    wait_until(ended, 480, interval=2, message=f"job {job} to end")
    result = jobs.final(job)
    status = result["status"]
    assert result["slurm"]["state"] == "COMPLETED", jobs.output(result)[-3000:]
    assert status["phase"] == "Succeeded", status
    assert status["trials"]["completed"] == 4
    ran_on = {h for rows in results(jobs.experiment("cgcnn-nodes")).values() for h in hosts(rows)}
    assert len(ran_on) >= 2 and ran_on <= set(jobs.slurm.nodes), ran_on
    assert "ends with code 0" in jobs.output(result)


def failures(experiment: Path) -> dict[str, int]:
    """Each trial's failures (each one retried) in the experiment's last saved state."""
    state = json.loads(max(experiment.glob("experiment_state-*.json")).read_text())
    found = {}
    for trial, meta in state["trial_data"]:
        trial, meta = (json.loads(x) if isinstance(x, str) else x for x in (trial, meta))
        found[trial["trial_id"]] = meta["num_failures"]
    return found


def busy(args: str) -> bool:
    """A Ray worker process that runs an actor or task: a trial, in these campaigns."""
    return args.startswith("ray::") and not args.startswith(
        ("ray::IDLE", "ray::DashboardAgent", "ray::RuntimeEnvAgent"))


def test_a_worker_node_lost_mid_campaign_has_its_trials_retried_elsewhere(jobs: Jobs) -> None:
    name, lost, iterations = "cgcnn-lost", jobs.slurm.nodes[-1], 10
    # One trial per node, of ten iterations of 30 epochs (some 20 s): the kill comes mid-trial.
    job = jobs.submit(cgcnn(name, trials=NODES, iterations=iterations, epochs=30))
    wait_until(lambda: any(busy(p) for p in jobs.slurm.processes(lost)), 300,
               interval=0.5, message=f"a trial running on {lost}")
    assert jobs.slurm.kill_ray(lost), f"no raylet on {lost}"
    result = jobs.final(job)
    status = result["status"]
    assert status["phase"] == "Succeeded", (status, jobs.output(result)[-3000:])
    assert status["trials"]["completed"] == NODES, status["trials"]
    experiment = jobs.experiment(name)
    # The lost node's trial, and only it, was retried: as a preemption when Ray reports its node
    # dead first, as a failure (one of maxTrialRetries) when it reports the actor's process dead
    # first - all of the node's processes die together here.
    failed = {trial for trial, count in failures(experiment).items() if count}
    assert len(failed) + status["trials"]["preempted"] == 1, (failures(experiment), status)
    assert status["trials"]["errored"] == 0, status["trials"]
    rows = results(experiment)
    for trial in failed | {t for t, r in rows.items() if lost in hosts(r)}:
        # it went on, and ended, on a node that was still there
        assert hosts(rows[trial])[-1] != lost, hosts(rows[trial])
        assert rows[trial][-1]["training_iteration"] == iterations
    assert result["slurm"]["state"] == "COMPLETED"


def test_cancel_stops_ray_on_every_node(jobs: Jobs) -> None:
    job = jobs.submit(cgcnn("cgcnn-cancel", trials=30, iterations=50))

    def in_progress() -> dict[str, Any] | None:
        result = jobs.status(job)
        return result if result["status"].get("resultsProcessed", 0) > 0 else None
    # This job runs until it is cancelled: hpo status shows its progress while it runs (the
    # short campaign of the first test can end between two looks).
    running = wait_until(in_progress, 300, interval=2, message=f"job {job} to report results")
    assert running["status"]["phase"] == "Running", running["status"]
    assert jobs.ray_left().keys() == set(jobs.slurm.nodes)
    proc = jobs.hpo("cancel", job, "--storage", str(jobs.storage), timeout=180)
    assert proc.returncode == 0, proc.stderr
    result = jobs.final(job)
    assert result["slurm"]["state"] == "CANCELLED"
    assert condition(result["status"])["reason"] == "Cancelled", result["status"]


def finished_trials(experiment: Path, iterations: int) -> set[str]:
    """Trials whose result.json has its last iteration, which the driver writes as it ends them."""
    try:
        rows = results(experiment)
    except ValueError:  # a line being written
        return set()
    return {t for t, r in rows.items() if r[-1]["training_iteration"] == iterations}


def test_the_time_limit_stops_the_campaign_and_a_new_job_resumes_it(jobs: Jobs) -> None:
    name, iterations, long = "cgcnn-time", 2, 300
    doc = cgcnn(name, trials=6, iterations=iterations)
    # Two trials of one epoch a step, then four of 300 (some 20 s each, more on these CPUs):
    # the stop comes once the short ones have ended and before any long one can have.
    spec = doc["spec"]
    del spec["trainable"]["config"]["epochs_per_step"]
    spec["searchSpace"]["epochs_per_step"] = {"type": "choice", "values": [1, long]}
    spec["strategy"]["searcher"]["pointsToEvaluate"] = [
        {"epochs_per_step": e} for e in (1, 1, long, long, long, long)]
    job = jobs.submit(doc, "--time", "10")
    experiment = jobs.experiment(name)

    def two_ended() -> set[str]:
        done = finished_trials(experiment, iterations)
        return done if len(done) >= 2 else set()
    short = wait_until(two_ended, 300, interval=0.5, message="the two short trials to end")
    jobs.slurm.exec("ctl", "scancel", "--batch", "--signal=USR1", job)
    first = jobs.final(job)
    assert condition(first["status"])["reason"] == "TimeLimit", first["status"]
    assert "Stop signal received" in jobs.output(first)  # Tune saved the experiment
    finished = terminated_trials(experiment)
    assert finished == short, (finished, short)
    before = {t: rows for t, rows in results(experiment).items() if t in finished}
    assert all(rows[0]["config"]["epochs_per_step"] == 1 for rows in before.values()), before

    again = jobs.final(jobs.submit(doc))
    assert again["status"]["phase"] == "Succeeded", again["status"]
    assert again["status"]["resumed"] >= 1 and again["status"]["trials"]["total"] == 6
    after = results(experiment)
    for trial, rows in before.items():
        assert after[trial] == rows, f"trial {trial} ran again after the resume"
    assert all(rows[-1]["training_iteration"] == iterations for rows in after.values()), after


def test_a_worker_node_that_never_joins_fails_the_job_with_its_reason(jobs: Jobs) -> None:
    lost = jobs.slurm.nodes[-1]
    jobs.slurm.stop_slurmd(lost)
    job = jobs.submit(cgcnn("cgcnn-nojoin", trials=2, iterations=1))
    try:  # Slurm completes the job only once the node answers again
        wait_until(lambda: jobs.status(job)["status"].get("phase") in ("Failed", "Succeeded"),
                   300, interval=2, message=f"job {job} to record its end")
    finally:
        jobs.slurm.resume(lost)
    result = jobs.final(job)
    status = result["status"]
    assert status["phase"] == "Failed" and condition(status)["reason"] == "RayWorkersFailed", status
    assert "worker step exited" in condition(status)["message"]
