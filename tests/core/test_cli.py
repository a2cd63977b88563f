"""The `hpo` command line as a user runs it: validate, run, and resume after a crash."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hpo_operator.driver.saved_state import saved_trials

from tests.support.campaigns import campaign, write
from tests.support.poll import wait_until

HPO = [sys.executable, "-m", "hpo_operator"]


def hpo(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*HPO, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_validate_accepts_a_good_manifest(tmp_path):
    result = hpo("validate", str(write(tmp_path, campaign())), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "valid HPOCampaign 'toy'" in result.stdout


def test_validate_lists_every_problem_with_path_and_value(tmp_path):
    doc = campaign(searchSpace={"lr": {"type": "float", "min": 1, "max": 0.1}},
                   budget={"trials": -1})
    doc["spec"]["objective"]["mode"] = "minimum"
    result = hpo("validate", str(write(tmp_path, doc)), cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert any("spec.objective.mode" in ln and "'minimum'" in ln for ln in lines)
    assert any("spec.searchSpace.lr" in ln and "min must be less than max" in ln for ln in lines)
    assert any("spec.budget.trials" in ln and "-1" in ln for ln in lines)


def test_validate_reports_unreadable_and_non_campaign_files(tmp_path):
    (tmp_path / "bad.yaml").write_text("a: [unclosed")
    (tmp_path / "other.yaml").write_text("kind: ConfigMap\napiVersion: v1\n")
    result = hpo("validate", "missing.yaml", "bad.yaml", "other.yaml", cwd=tmp_path)
    assert result.returncode != 0
    assert "cannot read" in result.stderr and "not valid YAML" in result.stderr
    assert "exactly one HPOCampaign" not in result.stderr
    assert "other.yaml: kind: found kind ConfigMap, expected HPOCampaign" in result.stderr


def test_file_problems_name_the_file_once(tmp_path):
    (tmp_path / "bad.yaml").write_text("metadata:\n  name: [unclosed\n")
    (tmp_path / "empty.yaml").write_text("\n# nothing here\n")
    result = hpo("validate", "bad.yaml", "empty.yaml", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "bad.yaml: not valid YAML at line 3, column 1: expected ',' or ']', but got "
        "'<stream end>' (while parsing a flow sequence from line 2, column 9)",
        "empty.yaml: the file is empty: expected HPOCampaign (apiVersion hpo.dev/v1alpha1)",
    ]


def test_invalid_manifest_never_starts_a_run(tmp_path):
    doc = campaign(searchSpace={"x": {"type": "choice", "values": []}})
    result = hpo("run", str(write(tmp_path, doc)), "--storage", "runs", cwd=tmp_path)
    assert result.returncode == 2
    assert "spec.searchSpace.x.values" in result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_run_writes_the_status_file_and_prints_the_best_configuration(tmp_path):
    path = write(tmp_path, campaign())
    result = hpo("run", str(path), "--status-file", "out/status.json", "--storage", "runs",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    status = json.loads((tmp_path / "out/status.json").read_text())
    assert status["phase"] == "Succeeded" and status["trials"]["total"] == 6
    assert f"best loss: {status['bestTrial']['metric']:.6g}" in result.stdout
    assert '"x":' in result.stdout
    assert "stopped early" in result.stderr  # live progress lines
    assert "WARNING" not in result.stderr, result.stderr  # no notices from Ray on a clean run


ITERATIONS = 8  # at 0.2 s each: the four trials left take longer than the wait below


def start_slow_campaign(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path, dict[Path, str]]:
    """Start a campaign of slow trials; return once two trials are finished in storage."""
    doc = campaign(trainable={"entrypoint": "tests.support.trainables:SlowCurve"},
                   strategy={"scheduler": {"type": "fifo"}},
                   budget={"trials": 6, "maxConcurrentTrials": 1,
                           "maxIterationsPerTrial": ITERATIONS})
    path = write(tmp_path, doc)
    status_file = tmp_path / "status.json"
    proc = launch(tmp_path, path, status_file)
    return proc, path, status_file, wait_for_finished_trials(tmp_path, proc, 2)


def launch(tmp_path: Path, path: Path, status_file: Path) -> subprocess.Popen:
    args = [*HPO, "run", str(path), "--status-file", str(status_file), "--storage", "runs",
            "--interval", "0.2"]
    # Experiment state reaches storage every second here (Tune's default adapts to its cost).
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"}
    return subprocess.Popen(args, cwd=tmp_path, start_new_session=True, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_finished_trials(tmp_path: Path, proc: subprocess.Popen, count: int) -> dict[Path, str]:
    """The result files of the finished trials, once ``count`` are in storage."""
    exp = tmp_path / "runs" / "toy"

    def finished() -> dict[Path, str] | None:
        done = {f: f.read_text() for f in exp.glob("*/result.json")
                if len(f.read_text().splitlines()) == ITERATIONS}
        return done if len(done) >= count else None

    def recorded() -> bool:  # a trial's last result is on disk before the saved state says so
        states = sorted(exp.glob("experiment_state-*.json"))
        trials = saved_trials(states[-1]) if states else None
        return sum(status == "TERMINATED" for _, status in trials or ()) >= count

    try:
        found = wait_until(finished, 120, interval=0.2,
                           message=f"the campaign to store {count} finished trials")
        wait_until(recorded, 120, interval=0.2,
                   message=f"the saved experiment state to record {count} finished trials")
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return found


def assert_resumes_to_the_end(tmp_path: Path, path: Path, status_file: Path,
                              finished: dict[Path, str], resumes: int = 1) -> None:
    result = hpo("run", str(path), "--status-file", str(status_file), "--storage", "runs",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    status = json.loads(status_file.read_text())
    assert status["phase"] == "Succeeded"
    assert status["resumed"] == resumes
    assert any(c["type"] == "Resumed" and c["status"] == "True" for c in status["conditions"])
    assert status["trials"]["total"] == 6 and status["trials"]["completed"] == 6
    for f, before in finished.items():  # finished trials were not run again
        assert f.read_text() == before
    assert [p.name for p in (tmp_path / "runs").glob("[!.]*")] == ["toy"]  # resumed, not archived


@pytest.mark.slow
def test_killed_run_resumes_and_keeps_finished_trials(tmp_path):
    proc, path, status_file, finished = start_slow_campaign(tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its local Ray die at once
    proc.wait()
    assert json.loads(status_file.read_text())["trials"]["completed"] < 6
    assert_resumes_to_the_end(tmp_path, path, status_file, finished)


@pytest.mark.slow
def test_ctrl_c_reports_an_interrupted_campaign_that_a_rerun_resumes(tmp_path):
    proc, path, status_file, finished = start_slow_campaign(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to a terminal's foreground group
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output[-2000:]
    status = json.loads(status_file.read_text())
    assert status["phase"] == "Failed", status
    complete = next(c for c in status["conditions"] if c["type"] == "Complete")
    assert complete["reason"] == "Interrupted"
    assert "run the campaign again to resume" in status["message"]
    assert status["trials"]["completed"] < 6
    assert "campaign Failed: stopped by a signal" in output

    # A changed manifest must not resume (and so mix into) the interrupted experiment.
    changed = yaml.safe_load(path.read_text())
    changed["spec"]["searchSpace"]["x"]["max"] = 2.0
    refused = hpo("run", str(write(tmp_path, changed, "changed.yaml")), "--storage", "runs",
                  cwd=tmp_path)
    assert refused.returncode == 1
    assert "changed: spec.searchSpace" in refused.stdout and "metadata.name" in refused.stdout
    assert json.loads((tmp_path / "runs/toy/campaign-status.json").read_text()) == status

    assert_resumes_to_the_end(tmp_path, path, status_file, finished)


def stop_with_sigterm(proc: subprocess.Popen) -> str:
    """What Kubernetes, `ray job stop` and batch systems send: only the driver gets it."""
    try:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # local Ray's processes share the group
    assert proc.returncode == 130, output[-2000:]
    assert "SIGTERM: stopping the campaign" in output
    assert "Tuner.restore" not in output  # a campaign resumes by running it again
    assert "Configuration for experiment" not in output  # Tune's tables stay out of the way
    return output


def interrupted_status(status_file: Path) -> dict:
    status = json.loads(status_file.read_text())
    complete = next(c for c in status["conditions"] if c["type"] == "Complete")
    assert (status["phase"], complete["reason"]) == ("Failed", "Interrupted"), status
    assert status["trials"]["running"] == 0  # saved with the experiment, not running
    return status


@pytest.mark.slow
def test_sigterm_saves_the_campaign_and_a_resumed_run_can_be_stopped_again(tmp_path):
    proc, path, status_file, finished = start_slow_campaign(tmp_path)
    stop_with_sigterm(proc)
    first = interrupted_status(status_file)
    assert first["resumed"] == 0 and first["trials"]["completed"] < 6

    # The resumed run reports to this run's tracker: progress goes on from the saved state,
    # and a stop signal is seen again (Tune restores the callbacks pickled by the first run).
    proc = launch(tmp_path, path, status_file)
    finished = wait_for_finished_trials(tmp_path, proc, first["trials"]["completed"] + 1)
    stop_with_sigterm(proc)
    second = interrupted_status(status_file)
    assert second["resumed"] == 1
    assert first["trials"]["completed"] < second["trials"]["completed"] < 6
    assert second["bestTrial"]["metric"] <= first["bestTrial"]["metric"]
    assert second["elapsedSeconds"] > first["elapsedSeconds"]  # the clock goes on
    assert second["resultsProcessed"] > first["resultsProcessed"]

    assert_resumes_to_the_end(tmp_path, path, status_file, finished, resumes=2)


def test_retry_only_on_crash_never_reruns_a_finished_campaign(tmp_path):
    """A job retry after the final result must republish it, not start the campaign over."""
    doc = campaign(trainable={"entrypoint": "no_such_module_xyz:Thing"})
    path = write(tmp_path, doc)
    first = hpo("run", str(path), "--storage", "runs", cwd=tmp_path)
    assert first.returncode == 1  # a failed campaign, for a person at a terminal
    retry = hpo("run", str(path), "--storage", "runs", "--retry-only-on-crash",
                "--status-file", "again.json", cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert json.loads((tmp_path / "again.json").read_text())["phase"] == "Failed"
    assert [p.name for p in (tmp_path / "runs").glob("[!.]*")] == ["toy"]  # nothing archived or rerun


@pytest.mark.parametrize("target", ["no-slash", "ns/", "/name", "a/b/c", "Upper/name"])
def test_a_malformed_progress_configmap_is_a_usage_error(tmp_path, target):
    result = hpo("run", str(write(tmp_path, campaign())), "--progress-configmap", target,
                 "--storage", "runs", cwd=tmp_path)
    assert result.returncode == 2
    assert "expected NAMESPACE/NAME" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()
