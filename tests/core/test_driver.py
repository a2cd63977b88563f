"""The driver on a real local Ray: small campaigns of toy trainables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpo_operator.campaign.experiment import STATUS_FILE
from hpo_operator.driver.run import run_campaign
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.progress import JsonFileSink
from hpo_operator.campaign.status import Phase

from tests.support.campaigns import campaign

pytestmark = pytest.mark.slow


def run(tmp_path: Path, doc: dict, name: str = "toy"):
    doc["metadata"]["name"] = name
    status_file = tmp_path / f"{name}.json"
    status = run_campaign(parse_campaign(doc), tmp_path / "runs", [JsonFileSink(status_file)],
                          publish_interval=0.5)
    return status, json.loads(status_file.read_text())


def test_asha_campaign_succeeds_and_reports_best(local_ray, tmp_path):
    # Two trials at the optimum start first; the third, far off, starts once one of them has
    # passed the first rung, so ASHA must stop it there whatever the order of results.
    warm_start = [{"x": 0.3}, {"x": 0.3}, {"x": 0.9}]
    doc = campaign(budget={"trials": 8, "maxConcurrentTrials": 2},
                   strategy={"scheduler": {"type": "asha", "maxT": 4, "gracePeriod": 1,
                                           "reductionFactor": 2},
                             "searcher": {"type": "random", "pointsToEvaluate": warm_start}})
    status, written = run(tmp_path, doc)
    assert status.phase is Phase.SUCCEEDED
    t = status.trials
    assert t.total == 8 and t.completed + t.stopped == 8 and t.errored == 0
    assert t.stopped >= 1
    best = status.best_trial
    assert best is not None and 0.0 <= best.config["x"] <= 1.0
    assert best.metric == pytest.approx((best.config["x"] - 0.3) ** 2 + 1 / best.iteration)
    assert written["phase"] == "Succeeded" and written["bestTrial"]["id"] == best.id
    assert written == json.loads((Path(status.experiment_path) / STATUS_FILE).read_text())
    assert status.completion_time and status.results_processed >= 8


def test_actors_are_reused_when_the_trainable_can_reset(local_ray, tmp_path):
    doc = campaign(budget={"trials": 6, "maxConcurrentTrials": 2},
                   strategy={"scheduler": {"type": "fifo"}})
    doc["spec"]["budget"]["maxIterationsPerTrial"] = 2
    run(tmp_path, doc)
    pids = {json.loads(line)["pid"] for f in (tmp_path / "runs" / "toy").glob("*/result.json")
            for line in f.read_text().splitlines()}
    assert len(pids) <= 3  # 6 trials, 2 at a time, on reused actors


def test_tensorboard_logs_with_hparams(local_ray, tmp_path):
    doc = campaign(budget={"trials": 2, "maxConcurrentTrials": 2})
    status, _ = run(tmp_path, doc)
    event_files = list(Path(status.experiment_path).glob("*/events.out.tfevents.*"))
    assert len(event_files) == 2
    tags = event_tags(event_files[0])
    assert "ray/tune/loss" in tags
    assert "_hparams_/session_start_info" in tags  # TensorBoard's HParams plugin summary


def event_tags(path: Path) -> set[str]:
    """Summary tags in a TFRecord event file (length, crc, payload, crc per record)."""
    import struct

    from tensorboardX.proto.event_pb2 import Event

    data, tags, offset = path.read_bytes(), set(), 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        event = Event.FromString(data[offset + 12: offset + 12 + length])
        tags.update(v.tag for v in event.summary.value)
        offset += 12 + length + 4
    return tags


def test_trial_errors_are_counted_and_the_campaign_survives(local_ray, tmp_path):
    doc = campaign(trainable={"entrypoint": "tests.support.trainables:fails_when_large"},
                   budget={"trials": 6, "maxConcurrentTrials": 2})
    doc["spec"]["runtime"] = {"failFast": False}
    doc["spec"]["strategy"]["searcher"] = {"type": "random", "pointsToEvaluate": [
        {"x": 0.1}, {"x": 0.9}]}
    status, written = run(tmp_path, doc)
    assert status.phase is Phase.SUCCEEDED
    assert status.trials.errored >= 1
    cond = status.condition("TrialsErrored")
    assert cond is not None and "too large for this toy" in cond.message
    assert status.best_trial is not None and status.best_trial.config["x"] <= 0.5
    assert written["trials"]["errored"] == status.trials.errored


def test_fail_fast_ends_the_campaign_but_keeps_finished_results(local_ray, tmp_path):
    doc = campaign(trainable={"entrypoint": "tests.support.trainables:fails_when_large"},
                   budget={"trials": 6, "maxConcurrentTrials": 1})
    doc["spec"]["strategy"]["searcher"] = {"type": "random", "pointsToEvaluate": [
        {"x": 0.2}, {"x": 0.9}]}
    status, _ = run(tmp_path, doc)
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "TrialError"
    assert "too large for this toy" in status.message
    assert status.best_trial is not None and status.best_trial.config["x"] == 0.2


def test_unimportable_trainable_fails_clearly(tmp_path):
    doc = campaign(trainable={"entrypoint": "no_such_module_xyz:Thing"})
    status, written = run(tmp_path, doc)
    assert status.phase is Phase.FAILED
    assert written["conditions"][0]["reason"] == "TrainableNotFound"
    assert "no_such_module_xyz" in status.message
    doc = campaign(trainable={"entrypoint": "tests.support.trainables:Missing"})
    assert "has no attribute 'Missing'" in run(tmp_path, doc, "toy2")[0].message


def test_metric_never_reported_fails_clearly(local_ray, tmp_path):
    doc = campaign(trainable={"entrypoint": "tests.support.trainables:wrong_metric"},
                   budget={"trials": 2, "maxConcurrentTrials": 2})
    status, _ = run(tmp_path, doc)
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "MetricNotReported"
    assert status.message == ("a trial reported a result without the objective metric 'loss' "
                              "(spec.objective.metric); its results have: accuracy")


def test_trials_that_can_never_start_fail_at_once(local_ray, tmp_path):
    doc = campaign(resources={"perTrial": {"cpu": 1, "gpu": 1}})
    status, _ = run(tmp_path, doc)
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "Unschedulable"
    assert "1 GPU" in status.message and "has 0" in status.message


def test_actor_reuse_default_follows_reset_support():
    from hpo_operator.driver.tuner import supports_reset

    from tests.support.trainables import Curve, CurveNoReset, curve_function

    assert supports_reset(Curve) and supports_reset(curve_function)
    assert not supports_reset(CurveNoReset)


def test_an_experiment_left_by_another_campaign_object_is_set_aside(local_ray, tmp_path):
    """A campaign deleted and created again under its name must not get the old one's result."""
    toy = parse_campaign(campaign(budget={"trials": 2, "maxConcurrentTrials": 2}))
    storage = tmp_path / "runs"

    def driver_retry(instance: str):
        return run_campaign(toy, storage, [], publish_interval=0.5, rerun_finished=False,
                            instance=instance)

    first = driver_retry("uid-1")
    assert first.phase is Phase.SUCCEEDED
    assert driver_retry("uid-1") == first  # the same object's retry: its final result, unchanged
    second = driver_retry("uid-2")
    assert second.phase is Phase.SUCCEEDED and second.resumed == 0
    assert second.start_time != first.start_time  # a run of its own, not the stored result
    kept = sorted(p.name for p in storage.glob("[!.]*"))  # not the hidden lock file
    assert len(kept) == 2 and kept[0] == "toy" and kept[1].startswith("toy-")
    assert (storage / "toy" / "instance").read_text().strip() == "uid-2"
    assert (storage / kept[1] / "instance").read_text().strip() == "uid-1"
