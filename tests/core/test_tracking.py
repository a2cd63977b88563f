"""Experiment trackers: each trial of a campaign as an MLflow run on a real tracking server, and
as a W&B run written offline; the manifest's tracking section checked as hostile input."""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.status import Phase
from hpo_operator.driver.run import run_campaign

from tests.support.campaigns import campaign, parsed, problems
from tests.support.mlflow_server import mlflow_server
from tests.support.poll import wait_until
from tests.support.wandb_records import read_run

POINTS = [{"x": 0.1}, {"x": 0.3}, {"x": 0.6}]
ITERATIONS = 2


def curve_loss(x: float, t: int) -> float:
    """tests.support.trainables.Curve's loss."""
    return (x - 0.3) ** 2 + 1.0 / t


def tracked(tracking: dict) -> dict:
    """Three trials of the analytic curve at known points, two iterations each."""
    return campaign("tracked", strategy={
        "scheduler": {"type": "fifo"},
        "searcher": {"type": "random", "pointsToEvaluate": POINTS}},
        budget={"trials": len(POINTS), "maxConcurrentTrials": 2,
                "maxIterationsPerTrial": ITERATIONS},
        tracking=tracking)


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.mark.slow
def test_each_trial_is_an_mlflow_run_with_its_parameters_and_metrics(local_ray, tmp_path,
                                                                     mlflow_uri):
    from mlflow.tracking import MlflowClient

    doc = tracked({"mlflow": {"trackingUri": mlflow_uri, "experimentName": "tracked-curve",
                              "tags": {"team": "hpo"}}})
    status = run_campaign(parse_campaign(doc), tmp_path / "runs", [], publish_interval=0.5)
    assert status.phase is Phase.SUCCEEDED, status.message

    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("tracked-curve")
    assert experiment is not None and experiment.tags.get("team") is None  # tags go on runs
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == len(POINTS)
    by_x = {float(run.data.params["x"]): run for run in runs}
    assert sorted(by_x) == [p["x"] for p in POINTS]
    for x, run in by_x.items():
        assert run.data.tags["team"] == "hpo"
        assert math.isclose(run.data.metrics["loss"], curve_loss(x, ITERATIONS), rel_tol=1e-9)
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2]
        assert run.info.status == "FINISHED"


@pytest.mark.slow
def test_each_trial_is_an_offline_wandb_run_with_its_config_and_metrics(local_ray, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)  # offline needs none
    monkeypatch.setenv("WANDB_MODE", "offline")  # the driver sets it too; restored afterwards
    (tmp_path / "wandb").mkdir()
    doc = tracked({"wandb": {"project": "hpo-tests", "mode": "offline", "tags": ["curve"]}})
    status = run_campaign(parse_campaign(doc), tmp_path / "runs", [], publish_interval=0.5)
    assert status.phase is Phase.SUCCEEDED, status.message

    # The logging actors write where the driver's WANDB_DIR says; wandb's own service process
    # writes the files, and may still be writing a run's records when the campaign returns.
    def written() -> list[dict] | None:
        files = sorted((tmp_path / "wandb").rglob("offline-run-*/run-*.wandb"))
        try:
            found = [read_run(f) for f in files]
        except (AssertionError, struct.error, DecodeError):  # a record being written
            return None
        whole = len(found) == len(POINTS) and all(
            "x" in r["config"] and sum("loss" in row for row in r["history"]) == ITERATIONS
            for r in found)
        return found if whole else None
    runs = {run["config"]["x"]: run
            for run in wait_until(written, 120, message="every trial's W&B run written")}
    assert sorted(runs) == [p["x"] for p in POINTS]
    for x, run in runs.items():
        assert run["id"] == run["config"]["trial_id"]
        losses = [row["loss"] for row in run["history"] if "loss" in row]
        assert losses == pytest.approx([curve_loss(x, t) for t in range(1, ITERATIONS + 1)])


def test_the_trackers_default_to_the_campaigns_name():
    spec = parsed("named", tracking={"mlflow": {"trackingUri": "https://mlflow.example"},
                                     "wandb": {"project": "p"}}).spec
    from hpo_operator.driver.tracking import tracking_callbacks

    mlflow, wandb = tracking_callbacks(parsed("named", tracking=spec.tracking.model_dump(
        by_alias=True, exclude_none=True)), Path("/runs/named"))
    assert mlflow.experiment_name == "named" and mlflow.tracking_uri == "https://mlflow.example"
    assert wandb.project == "p" and wandb.group == "named" and wandb.kwargs["mode"] == "online"
    if "WANDB_DIR" not in os.environ:
        assert wandb.kwargs["dir"] == "/runs/named/wandb"


@pytest.mark.parametrize(("tracking", "path", "words"), [
    ({"mlflow": {"trackingUri": "ftp://mlflow.example"}}, "mlflow.trackingUri", "tracking URI"),
    ({"mlflow": {"trackingUri": "javascript:alert(1)"}}, "mlflow.trackingUri", "tracking URI"),
    ({"mlflow": {"trackingUri": "http://"}}, "mlflow.trackingUri", "tracking URI"),
    ({"mlflow": {"trackingUri": "http://user:secret@mlflow.example"}}, "mlflow.trackingUri",
     "tracking URI"),
    ({"mlflow": {"trackingUri": "https://mlflow.example/a b"}}, "mlflow.trackingUri",
     "tracking URI"),
    ({"mlflow": {"trackingUri": "file:relative/dir"}}, "mlflow.trackingUri", "tracking URI"),
    ({"mlflow": {"trackingUri": "file:///runs/../etc"}}, "mlflow.trackingUri", "'..'"),
    ({"mlflow": {"trackingUri": "https://m.example/" + "a" * 600}}, "mlflow.trackingUri",
     "at most 512"),
    ({"mlflow": {"trackingUri": "https://m.example", "experimentName": "a\nb"}},
     "mlflow.experimentName", "letters, digits"),
    ({"mlflow": {"trackingUri": "https://m.example", "experimentName": "e" * 129}},
     "mlflow.experimentName", "at most 128"),
    ({"mlflow": {"trackingUri": "https://m.example", "token": "s3cr3t"}}, "mlflow.token",
     "not a known field"),
    ({"wandb": {"project": "p", "apiKey": "s3cr3t"}}, "wandb.apiKey", "not a known field"),
    ({"wandb": {"project": "p", "apiKeySecret": {"name": "Not_A_Name", "key": "k"}}},
     "wandb.apiKeySecret.name", "DNS subdomain"),
    ({"wandb": {"project": "p", "apiKeySecret": {"name": "db-password", "key": "k"}}},
     "wandb.apiKeySecret.name", "hpo-tracking-*"),
    ({"mlflow": {"trackingUri": "https://m.example", "tokenSecret": {
        "name": "hpo-tracking-m", "key": "a/b"}}}, "mlflow.tokenSecret.key", "Secret key"),
    ({"wandb": {"project": "p", "mode": "disabled"}}, "wandb.mode", "offline"),
    ({"wandb": {"project": "../../p"}}, "wandb.project", "letters, digits"),
    ({"wandb": {"project": "p", "tags": ["t"] * 17}}, "wandb.tags", "at most 16"),
])
def test_hostile_tracking_settings_are_refused_by_field(tracking, path, words):
    found = problems(campaign(tracking=tracking))
    assert f"spec.tracking.{path}" in found, found
    assert words in found[f"spec.tracking.{path}"], found


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "https://mlflow.example/base/path",
                                 "file:///mnt/shared/mlruns", "http://[::1]:5000"])
def test_the_tracking_uris_a_campaign_may_name(uri):
    assert parsed(tracking={"mlflow": {"trackingUri": uri}}).spec.tracking.mlflow.tracking_uri \
        == uri
