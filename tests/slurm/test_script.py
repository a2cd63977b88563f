"""The batch script, rendered without Slurm: options and campaign to #SBATCH lines, time limits,
resource checks, and the exit trap's guarantee that a failed job leaves a Failed status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator.commands.slurm import effective_status
from hpo_operator.slurm.finalize import mark_failed
from hpo_operator.slurm.jobs import JobRecord, JobState
from hpo_operator.slurm.options import (SlurmOptions, SlurmOptionsError, format_slurm_time,
                                        parse_slurm_time)
from hpo_operator.slurm.script import plan_job, render_batch_script

from tests.support import campaigns


def campaign(cluster: dict | None = None, per_trial: dict | None = None,
             budget: dict | None = None):
    """Campaign ``demo``: the default strategy, and unless told otherwise 4 trials of 1 CPU on a
    head and one 2-CPU worker."""
    return parse_campaign(campaigns.campaign(
        "demo", strategy=None,
        searchSpace=campaigns.replace({"lr": {"type": "float", "min": 1e-4, "max": 0.1,
                                              "log": True}}),
        trainable={"entrypoint": "pkg.mod:Trainable"},
        budget=campaigns.replace(budget or {"trials": 4}),
        resources={"perTrial": per_trial or {"cpu": 1},
                   "cluster": cluster or {"workers": 1, "cpusPerWorker": 2}}))


def sbatch(script: str) -> list[str]:
    return [line.removeprefix("#SBATCH ") for line in script.splitlines()
            if line.startswith("#SBATCH ")]


def test_options_become_sbatch_lines(tmp_path):
    opts = SlurmOptions(nodes=3, partition="gpu", account="m1234", time="2:00:00",
                        gpus_per_node=4, cpus_per_task=32, mem="64G", workdir=tmp_path,
                        storage=str(tmp_path / "runs"), run_dir=tmp_path / "run",
                        sbatch_args=["--qos=debug"])
    lines = sbatch(render_batch_script(campaign(per_trial={"cpu": 8, "gpu": 1}), opts))
    assert lines == ["--job-name=demo", "--nodes=3", "--ntasks-per-node=1", "--cpus-per-task=32",
                     "--gpus-per-node=4", "--time=02:00:00", "--signal=B:USR1@90",
                     "--partition=gpu", "--account=m1234", "--mem=64G", f"--chdir={tmp_path}",
                     f"--output={tmp_path}/run/slurm-%j.out", "--qos=debug"]


def test_the_campaign_sizes_the_job_when_options_do_not(tmp_path):
    spec = campaign(cluster={"workers": 4, "cpusPerWorker": 6.5, "gpusPerWorker": 2},
                    budget={"trials": 8, "timeLimit": "1h"})
    script = render_batch_script(spec, SlurmOptions(workdir=tmp_path))
    lines = sbatch(script)
    assert {"--nodes=4", "--cpus-per-task=7", "--gpus-per-node=2"} <= set(lines)
    assert "--time=01:10:00" in lines  # budget.timeLimit plus the 10 min start/stop margin
    assert "HPO_GPUS_PER_NODE=2" in script and "HPO_RAY_PORT=auto" in script
    assert f"HPO_STORAGE={tmp_path}/runs" in script
    assert f"HPO_PYTHON={sys.executable}" in script  # the submitting environment's Python


def test_no_gpus_and_no_time_limit_mean_no_such_lines(tmp_path):
    lines = sbatch(render_batch_script(campaign(), SlurmOptions(workdir=tmp_path)))
    assert not [ln for ln in lines if ln.startswith(("--gpus", "--time", "--signal"))]
    assert "--nodes=1" in lines


@pytest.mark.parametrize("text, seconds", [
    ("90", 5400), ("30:15", 1815), ("2:00:00", 7200), ("1-2", 93600), ("1-02:03", 93780),
    ("1-2:3:4", 93784), ("8h", 28800), ("1h30m", 5400)])
def test_slurm_time_formats(text, seconds):
    assert parse_slurm_time(text) == seconds


@pytest.mark.parametrize("seconds, text", [
    (1, "00:01:00"), (3600, "01:00:00"), (3601, "01:01:00"), (93784, "1-02:04:00")])
def test_times_are_written_in_whole_minutes_rounded_up(seconds, text):
    assert format_slurm_time(seconds) == text


@pytest.mark.parametrize("bad", ["", "abc", "1:2:3:4", "0", "-5"])
def test_bad_times_are_refused(bad):
    with pytest.raises(SlurmOptionsError):
        parse_slurm_time(bad)


def test_trials_that_cannot_fit_a_node_are_refused(tmp_path):
    with pytest.raises(SlurmOptionsError, match="perTrial.gpu"):
        plan_job(campaign(per_trial={"cpu": 1, "gpu": 1}), SlurmOptions(workdir=tmp_path))
    with pytest.raises(SlurmOptionsError, match="perTrial.cpu"):
        plan_job(campaign(per_trial={"cpu": 4}), SlurmOptions(cpus_per_task=2, workdir=tmp_path))


@pytest.mark.parametrize(("cluster", "per_trial", "words"), [
    ({"workers": 2, "cpusPerWorker": 4},
     {"bundles": [{"cpu": 1}] * 3, "placementStrategy": "STRICT_SPREAD"}, "STRICT_SPREAD"),
    ({"workers": 2, "cpusPerWorker": 4},
     {"bundles": [{"cpu": 3}, {"cpu": 2}], "placementStrategy": "STRICT_PACK"}, "STRICT_PACK"),
    ({"workers": 2, "cpusPerWorker": 4}, {"bundles": [{"cpu": 1}, {"cpu": 5}]}, "bundle 1"),
    ({"workers": 1, "cpusPerWorker": 4}, {"cpu": 1, "custom": {"accel_v5": 1}},
     "accel_v5.*has 0 in all"),
])
def test_bundles_and_custom_resources_the_nodes_cannot_hold_are_refused(tmp_path, cluster,
                                                                        per_trial, words):
    with pytest.raises(SlurmOptionsError, match=words):
        plan_job(campaign(cluster=cluster, per_trial=per_trial), SlurmOptions(workdir=tmp_path))


def test_nodes_advertise_the_custom_resources_and_bundles_may_span_them(tmp_path):
    spec = campaign(cluster={"workers": 2, "cpusPerWorker": 4, "customPerWorker": {"accel_v5": 1}},
                    per_trial={"bundles": [{"cpu": 3, "custom": {"accel_v5": 1}},
                                           {"cpu": 3, "memory": "1Ti"}],
                               "placementStrategy": "STRICT_SPREAD"})
    script = render_batch_script(spec, SlurmOptions(workdir=tmp_path))
    assert """export HPO_RAY_RESOURCES='{"accel_v5": 1.0}'""" in script
    # Memory is left to the driver's check on the live nodes, which Ray measures.
    assert plan_job(spec, SlurmOptions(workdir=tmp_path)).custom_resources == {"accel_v5": 1}


def test_the_script_is_valid_bash_and_quotes_what_it_is_given(tmp_path):
    opts = SlurmOptions(workdir=tmp_path, python="/opt/my env/bin/python",
                        env_setup=["module load cuda/12", "source '/opt/my env/bin/activate'"])
    script = render_batch_script(campaign(), opts)
    assert "HPO_PYTHON='/opt/my env/bin/python'" in script
    assert "module load cuda/12 || hpo_fail EnvironmentSetupFailed" in script
    assert "@{" not in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_render_prints_the_script(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(campaign().model_dump(mode="json", by_alias=True,
                                                     exclude_none=True)))
    proc = subprocess.run([sys.executable, "-m", "hpo_operator", "render", "--backend", "slurm",
                           str(path), "--nodes", "2", "--time", "45"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "#SBATCH --nodes=2" in proc.stdout and "#SBATCH --time=00:45:00" in proc.stdout


def test_a_job_without_a_usable_python_still_writes_a_failed_status(tmp_path):
    # Run the rendered script by hand (no Slurm needed before the environment check): the exit
    # trap cannot use Python, so its bash fallback must write a status the model accepts.
    run_dir = tmp_path / "run"
    script = render_batch_script(campaign(), SlurmOptions(
        workdir=tmp_path, run_dir=run_dir, python="/nonexistent/python"))
    env = {**os.environ, "SLURM_JOB_ID": "0"}
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    written = json.loads((run_dir / "campaign-status.json").read_text())
    status = CampaignStatus.model_validate(written)
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "EnvironmentSetupFailed"
    assert "/nonexistent/python" in status.message


def test_mark_failed_keeps_a_final_status_unless_forced(tmp_path):
    path = tmp_path / "status.json"
    mark_failed(path, "RayHeadFailed", "no head")
    assert json.loads(path.read_text())["phase"] == "Failed"
    path.write_text(json.dumps(CampaignStatus(phase=Phase.SUCCEEDED).to_dict()))
    assert mark_failed(path, "Cancelled", "late").phase is Phase.SUCCEEDED
    forced = mark_failed(path, "TimeLimit", "limit", force=True)
    assert forced.phase is Phase.FAILED and forced.condition("Complete").reason == "TimeLimit"


def test_slurm_state_overrides_a_status_file_that_never_saw_the_end(tmp_path):
    record = JobRecord(job_id="7", campaign="demo", run_dir=str(tmp_path),
                       status_file=str(tmp_path / "s.json"), script="", manifest="",
                       storage="", submitted_at="")
    timeout = effective_status(record, JobState("TIMEOUT", "TimeLimit", "0:15"))
    assert timeout.phase is Phase.FAILED and timeout.condition("Complete").reason == "TimeLimit"
    running = effective_status(record, JobState("RUNNING", "None", "0:0"))
    assert running.phase is Phase.PENDING  # nothing written yet: not a failure
    Path(record.status_file).write_text(json.dumps(CampaignStatus(phase=Phase.RUNNING).to_dict()))
    cancelled = effective_status(record, JobState("CANCELLED", "None", "0:15"))
    assert cancelled.condition("Complete").reason == "Cancelled"


@pytest.mark.parametrize("storage_exists", [False, True])
def test_a_rejected_submission_leaves_no_run_directory(tmp_path, storage_exists):
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    fake_sbatch = fake_bin / "sbatch"  # a fake: Slurm's controller is unreachable
    fake_sbatch.write_text("#!/bin/sh\necho 'sbatch: error: Batch job submission failed: "
                           "Unable to contact slurm controller (connect failure)' >&2\nexit 1\n")
    fake_sbatch.chmod(0o755)
    manifest = tmp_path / "c.yaml"
    manifest.write_text(json.dumps(campaign().model_dump(mode="json", by_alias=True,
                                                         exclude_none=True)))
    storage = tmp_path / "runs"
    if storage_exists:
        (storage / "other").mkdir(parents=True)  # another campaign's: must stay
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "hpo_operator", "submit", str(manifest),
                               "--storage", str(storage)],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        assert proc.returncode == 1
        assert "Unable to contact slurm controller" in proc.stderr
        assert "nothing was submitted" in proc.stderr
    if storage_exists:
        assert sorted(p.name for p in storage.iterdir()) == ["other"]
    else:
        assert not storage.exists()
