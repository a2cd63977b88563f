"""Campaigns as real Slurm jobs: submitted with ``hpo submit``, watched with ``hpo status``,
cancelled with ``hpo cancel``, on the single-node cluster of ``conftest.slurm_cluster``.

Every job is submitted up front (the node has 2 CPUs, each job asks for 1), then each test waits
for its own: the whole file takes about as long as its slowest jobs, not their sum. Any test can
run alone (-k): jobs its selection leaves running are cancelled when the module ends.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.poll import wait_until

from .conftest import complete_condition, hpo, manifest, status_json

pytestmark = pytest.mark.slurm

FAKE_RAY = """#!/bin/bash
# A ray whose head never answers: `ray start` blocks, `ray health-check` fails.
case "$1" in start) exec sleep 300 ;; *) exit 1 ;; esac
"""


@pytest.fixture(scope="module")
def jobs(slurm_cluster, tmp_path_factory):
    work = tmp_path_factory.mktemp("slurm-work")
    storage = work / "runs"
    env = dict(os.environ)  # PYTHONPATH names the repository: the jobs import its toy trainables
    fake_ray = work / "fake-ray"
    fake_ray.write_text(FAKE_RAY)
    fake_ray.chmod(0o755)
    common = ["--cpus-per-task", "1", "--workdir", str(work), "--storage", str(storage)]
    plans = {  # name: (manifest, extra options), in queue order: the short jobs first, so
        # that no test waits behind the two long ones, which their own tests end
        "ok": (manifest(work, "toy-ok", trials=5), []),
        "badimport": (manifest(work, "toy-badimport", entrypoint="no_such_module:Curve"), []),
        "nohead": (manifest(work, "toy-nohead"),
                   ["--env-setup", f"export HPO_RAY={fake_ray}", "--ray-start-timeout", "5"]),
        "headexits": (manifest(work, "toy-headexits"),
                      ["--env-setup", "export HPO_RAY_HEAD_ARGS=--no-such-flag"]),
        "nopython": (manifest(work, "toy-nopython"), ["--python", "/nonexistent/bin/python"]),
        "cancel": (manifest(work, "toy-cancel", trials=20, iterations=50, sleep=0.5), []),
        "timelimit": (manifest(work, "toy-timelimit", trials=20, iterations=50, sleep=0.5),
                      ["--time", "30"]),
    }
    ids = {}
    for key, (path, extra) in plans.items():
        proc = hpo("submit", "--backend", "slurm", str(path), *common, *extra, env=env)
        assert proc.returncode == 0, proc.stderr
        ids[key] = proc.stdout.strip()
        assert ids[key].isdigit(), proc.stdout
    yield {"ids": ids, "env": env, "storage": storage, "work": work}
    # A partial run (-k, -x) must not leave campaigns running after the session stops slurmd.
    subprocess.run(["scancel", *ids.values()], capture_output=True)
    wait_until(lambda: not subprocess.run(["squeue", "-h", "-j", ",".join(ids.values())],
                                          capture_output=True, text=True).stdout.strip(),
               60, interval=1, message="the test jobs to leave the queue")


def _final(jobs, key: str) -> dict:
    return status_json(jobs["ids"][key], jobs["storage"], jobs["env"], wait=True)


def test_campaign_runs_to_success_on_slurm(jobs):
    result = _final(jobs, "ok")
    status = result["status"]
    assert result["slurm"]["state"] == "COMPLETED"
    assert status["phase"] == "Succeeded", status
    assert status["trials"]["total"] == 5 and status["trials"]["completed"] == 5
    best = status["bestTrial"]
    # The analytic curve at the last iteration (3): the best trial's metric is exactly its value.
    assert best["iteration"] == 3
    expected = (best["config"]["lr"] - 0.03) ** 2 + 1.0 / (3 * best["config"]["width"])
    assert best["metric"] == pytest.approx(expected)
    assert all(best["metric"] <= t["metric"] for t in status["topTrials"])
    # The head was waited for by checking it, and the driver joined that head.
    output = Path(result["runDir"], f"slurm-{result['jobId']}.out").read_text()
    assert re.search(r"Ray head ready at [\d.]+:\d+ after \d+ s", output)
    text = hpo("status", result["jobId"], "--storage", str(jobs["storage"]), env=jobs["env"])
    assert text.returncode == 0 and "Slurm COMPLETED; campaign Succeeded" in text.stdout


def test_a_trainable_that_does_not_import_fails_with_its_reason(jobs):
    result = _final(jobs, "badimport")
    assert result["slurm"]["state"] == "FAILED"
    assert result["status"]["phase"] == "Failed"
    cond = complete_condition(result["status"])
    assert cond["reason"] == "TrainableNotFound" and "no_such_module" in cond["message"]
    text = hpo("status", result["runDir"], env=jobs["env"])  # by run directory this time
    assert text.returncode == 1
    assert "campaign Failed" in text.stdout and "TrainableNotFound" in text.stdout


def test_a_head_that_never_gets_ready_fails_within_the_timeout(jobs):
    result = _final(jobs, "nohead")
    cond = complete_condition(result["status"])
    assert result["status"]["phase"] == "Failed" and cond["reason"] == "RayHeadFailed"
    assert "was not ready after 5 s" in cond["message"]
    run_time = subprocess.run(["scontrol", "show", "job", "-o", result["jobId"]],
                              capture_output=True, text=True).stdout
    h, m, s = map(int, re.search(r"RunTime=(\d+):(\d+):(\d+)", run_time).groups())
    assert h * 3600 + m * 60 + s < 40  # the 5 s readiness timeout, not a long sleep or a hang


def test_a_head_that_exits_is_reported_with_its_error(jobs):
    result = _final(jobs, "headexits")
    cond = complete_condition(result["status"])
    assert cond["reason"] == "RayHeadFailed"
    assert "exited with code 2" in cond["message"] and "no-such-flag" in cond["message"]


def test_a_broken_environment_still_leaves_a_failed_status(jobs):
    # No Python at all: the batch script's bash fallback writes the status.
    result = _final(jobs, "nopython")
    cond = complete_condition(result["status"])
    assert result["status"]["phase"] == "Failed" and cond["reason"] == "EnvironmentSetupFailed"
    assert "/nonexistent/bin/python" in cond["message"]


def test_status_says_failed_when_slurm_does_and_the_file_is_missing(jobs):
    result = _final(jobs, "headexits")
    Path(result["runDir"], "campaign-status.json").unlink()
    again = status_json(result["jobId"], jobs["storage"], jobs["env"])
    assert again["status"]["phase"] == "Failed"
    assert complete_condition(again["status"])["reason"] == "SlurmJobFailed"


def _running_with_results(jobs, key: str) -> dict:
    def progressed():
        result = status_json(jobs["ids"][key], jobs["storage"], jobs["env"])
        return result if result["status"].get("resultsProcessed", 0) > 0 else None
    return wait_until(progressed, 180, interval=2, message=f"job {key} to report trial results")


def test_cancel_ends_the_job_and_the_status_says_cancelled(jobs):
    _running_with_results(jobs, "cancel")
    # A second job for the same campaign and storage would share its experiment: refused.
    again = hpo("submit", str(jobs["work"] / "toy-cancel.yaml"), "--cpus-per-task", "1",
                "--storage", str(jobs["storage"]), env=jobs["env"])
    assert again.returncode == 1 and "already has Slurm job" in again.stderr
    proc = hpo("cancel", jobs["ids"]["cancel"], "--storage", str(jobs["storage"]),
               env=jobs["env"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = status_json(jobs["ids"]["cancel"], jobs["storage"], jobs["env"])
    assert result["slurm"]["state"] == "CANCELLED"
    status = result["status"]
    assert status["phase"] == "Failed" and complete_condition(status)["reason"] == "Cancelled"
    assert status["resultsProcessed"] > 0  # the progress made before the cancel is kept
    assert_driver_saved_the_experiment(result)


def test_the_time_limit_warning_stops_the_campaign_and_says_so(jobs):
    _running_with_results(jobs, "timelimit")
    # What Slurm sends STOP_GRACE seconds before the limit (#SBATCH --signal=B:USR1@...).
    subprocess.run(["scancel", "--batch", "--signal=USR1", jobs["ids"]["timelimit"]], check=True)
    result = _final(jobs, "timelimit")
    status = result["status"]
    assert status["phase"] == "Failed" and complete_condition(status)["reason"] == "TimeLimit"
    assert status["resultsProcessed"] > 0
    assert_driver_saved_the_experiment(result)


def assert_driver_saved_the_experiment(result: dict) -> None:
    """The driver stopped through Tune's final save (a resume starts from it), not killed."""
    output = (Path(result["runDir"]) / f"slurm-{result['jobId']}.out").read_text()
    assert "Stop signal received" in output, output[-3000:]
    assert "KeyboardInterrupt" not in output, output[-3000:]
