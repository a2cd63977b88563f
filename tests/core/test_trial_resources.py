"""Per-trial resources beyond CPU and GPU: memory, custom resources and placement-group bundles,
from the manifest to what Ray gives each trial."""

from __future__ import annotations

import json
import subprocess

import pytest

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.placement import placement_problem
from hpo_operator.campaign.progress import JsonFileSink
from hpo_operator.campaign.status import Phase
from hpo_operator.driver.run import run_campaign

from tests.support.campaigns import campaign, parsed, problems, write
from tests.support.probes import probe_records
from tests.support.processes import free_port, stop
from tests.support.ray_nodes import BIN, node_env, start_node, wait_for_head

GIB = 2**30


def per_trial(**fields):
    return {"perTrial": fields}


def test_a_single_bundle_in_rays_names():
    resources = parsed(resources=per_trial(cpu=2, gpu=0.5, memory="1.5Gi",
                                           custom={"accel_v5": 2})).spec.resources.per_trial
    assert resources.ray_bundles() == [{"CPU": 2.0, "GPU": 0.5, "memory": 1.5 * GIB,
                                        "accel_v5": 2.0}]


def test_bundles_replace_the_single_request():
    resources = parsed(resources=per_trial(
        bundles=[{"cpu": 1}, {"cpu": 2, "gpu": 1, "memory": "4Gi"}],
        placementStrategy="SPREAD")).spec.resources.per_trial
    assert resources.ray_bundles() == [{"CPU": 1.0}, {"CPU": 2.0, "GPU": 1.0, "memory": 4 * GIB}]
    assert resources.total() == {"CPU": 3.0, "GPU": 1.0, "memory": 4 * GIB}
    assert resources.placement_strategy == "SPREAD"


def test_a_dumped_manifest_with_bundles_parses_again():
    """The RayJob's ConfigMap holds the spec as dumped, defaults (cpu: 1, gpu: 0) spelled out."""
    spec = parsed(resources=per_trial(bundles=[{"cpu": 1}, {"gpu": 1}])).spec
    dumped = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["resources"]["perTrial"]["cpu"] == 1
    again = parse_campaign(campaign(resources={"perTrial": dumped["resources"]["perTrial"]}))
    assert again.spec.resources.per_trial == spec.resources.per_trial


@pytest.mark.parametrize(("fields", "path", "words"), [
    ({"cpu": 2, "bundles": [{"cpu": 1}]}, "spec.resources.perTrial", "either as cpu or as bundles"),
    ({"bundles": [{"cpu": 1}, {}]}, "spec.resources.perTrial.bundles[1]", "empty bundle"),
    ({"placementStrategy": "STRICT_SPREAD"}, "spec.resources.perTrial", "give bundles too"),
    ({"placementStrategy": "ANYWHERE", "bundles": [{"cpu": 1}]},
     "spec.resources.perTrial.placementStrategy", "STRICT_PACK"),
    ({"custom": {"GPU": 1}}, "spec.resources.perTrial.custom.GPU", "predefined"),
    ({"custom": {"memory": 1}}, "spec.resources.perTrial.custom.memory", "predefined"),
    ({"custom": {"x_group_1": 1}}, "spec.resources.perTrial.custom.x_group_1", "placement group"),
    ({"custom": {"rm -rf /": 1}}, "spec.resources.perTrial.custom.rm -rf /", "letters, digits"),
    ({"custom": {"a" * 64: 1}}, f"spec.resources.perTrial.custom.{'a' * 64}", "at most 63"),
    ({"custom": {"accel": 0}}, "spec.resources.perTrial.custom.accel", "greater than 0"),
    ({"custom": {"accel": 1e9}}, "spec.resources.perTrial.custom.accel", "less than or equal"),
    ({"custom": {f"r{i}": 1 for i in range(17)}}, "spec.resources.perTrial.custom", "at most 16"),
    ({"memory": "lots"}, "spec.resources.perTrial.memory", "memory quantity"),
    ({"memory": "100Ti"}, "spec.resources.perTrial.memory", "between 1Mi and 64Ti"),
    ({"bundles": [{"cpu": 1}] * 17}, "spec.resources.perTrial.bundles", "at most 16"),
    ({"bundles": [{"cpu": 1, "disk": 2}]}, "spec.resources.perTrial.bundles[0].disk", "not a known field"),
])
def test_hostile_resource_requests_are_refused_by_field(fields, path, words):
    found = problems(campaign(resources=per_trial(**fields)))
    assert path in found, found
    assert words in found[path]


def test_custom_resources_of_the_workers_are_checked_alike():
    found = problems(campaign(resources={"cluster": {"customPerWorker": {"CPU": 4}}}))
    assert "predefined" in found["spec.resources.cluster.customPerWorker.CPU"]


NODES = [{"CPU": 4.0, "GPU": 1.0, "memory": 8.0 * GIB}, {"CPU": 4.0, "memory": 8.0 * GIB}]


@pytest.mark.parametrize(("bundles", "strategy", "words"), [
    ([{"CPU": 2.0}, {"CPU": 2.0, "GPU": 1.0}], "PACK", None),
    ([{"CPU": 3.0}, {"CPU": 3.0}], "SPREAD", None),
    ([{"CPU": 3.0}, {"CPU": 3.0}], "STRICT_PACK", "STRICT_PACK"),
    ([{"CPU": 2.0}, {"CPU": 2.0}], "STRICT_PACK", None),
    ([{"CPU": 1.0}] * 3, "STRICT_SPREAD", "2 node(s)"),
    ([{"CPU": 1.0}] * 2, "STRICT_SPREAD", None),
    ([{"CPU": 1.0, "GPU": 2.0}], "PACK", "2 GPU (spec.resources.perTrial) but the Ray cluster has 1 in all"),
    ([{"CPU": 5.0}], "PACK", "no node"),
    ([{"CPU": 1.0, "memory": 9.0 * GIB}], "PACK", "9 GiB memory on one node"),
    ([{"CPU": 1.0, "accel": 1.0}], "PACK", "1 accel (spec.resources.perTrial) but the Ray cluster has 0 in all"),
])
def test_placement_refuses_only_what_can_never_fit(bundles, strategy, words):
    why = placement_problem(bundles, strategy, NODES)
    if words is None:
        assert why is None
    else:
        assert why is not None and words in why, why


def run(tmp_path, doc):
    status_file = tmp_path / "status.json"
    status = run_campaign(parse_campaign(doc), tmp_path / "runs", [JsonFileSink(status_file)],
                          publish_interval=0.5)
    return status, json.loads(status_file.read_text())


def probe_campaign(tmp_path, resources):
    (tmp_path / "probes").mkdir()
    return campaign(trainable={"entrypoint": "tests.support.probes:resource_probe",
                               "config": {"probe_dir": str(tmp_path / "probes")}},
                    strategy={"scheduler": {"type": "fifo"}}, resources=resources,
                    budget={"trials": 2, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 1})


def test_each_trial_gets_its_placement_group_and_memory(local_ray, tmp_path):
    """On real Ray: the trial's process holds the first bundle (its CPU and memory), and its
    placement group has every bundle the manifest gave."""
    doc = probe_campaign(tmp_path, per_trial(
        bundles=[{"cpu": 0.5, "memory": "64Mi"}, {"cpu": 1}], placementStrategy="STRICT_PACK"))
    status, _ = run(tmp_path, doc)
    assert status.phase is Phase.SUCCEEDED, status.message
    records = probe_records(tmp_path / "probes")
    assert len(records) == 2
    for record in records:
        assert record["assigned"] == {"CPU": 0.5, "memory": 64 * 2**20}
        assert [dict(sorted(b.items())) for b in record["bundles"]] == [
            {"CPU": 0.5, "memory": 64 * 2**20}, {"CPU": 1.0}]


def test_a_trial_of_one_bundle_gets_its_memory(local_ray, tmp_path):
    status, _ = run(tmp_path, probe_campaign(tmp_path, per_trial(cpu=1, memory="32Mi")))
    assert status.phase is Phase.SUCCEEDED, status.message
    assert [r["assigned"] for r in probe_records(tmp_path / "probes")] == [
        {"CPU": 1.0, "memory": 32 * 2**20}] * 2


@pytest.mark.parametrize(("resources", "words"), [
    (per_trial(custom={"accel_v5": 1}), "1 accel_v5"),
    (per_trial(bundles=[{"cpu": 1}, {"cpu": 1}], placementStrategy="STRICT_SPREAD"),
     "STRICT_SPREAD"),
])
def test_a_trial_the_local_cluster_cannot_hold_fails_at_once(local_ray, tmp_path, resources,
                                                             words):
    status, _ = run(tmp_path, probe_campaign(tmp_path, resources))
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "Unschedulable"
    assert words in status.message, status.message
    assert probe_records(tmp_path / "probes") == []


@pytest.mark.slow
def test_a_trial_gets_the_custom_resources_a_node_offers(tmp_path, ray_temp_dir):
    """A head started as KubeRay and the Slurm script start nodes, with custom resources: each
    trial holds the amount it asked for."""
    env = node_env(tmp_path)
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = start_node(["--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                       '--resources={"accel_v5": 2}', f"--temp-dir={ray_temp_dir}"],
                      env, tmp_path / "head.log")
    try:
        wait_for_head(address, env, 90, tmp_path / "head.log")
        doc = probe_campaign(tmp_path, per_trial(cpu=0.5, custom={"accel_v5": 1.5}))
        doc["spec"]["budget"]["maxConcurrentTrials"] = 2
        status_file = tmp_path / "status.json"
        done = subprocess.run(
            [str(BIN / "hpo"), "run", str(write(tmp_path, doc)), "--address", address, "--quiet",
             "--storage", str(tmp_path / "runs"), "--status-file", str(status_file)],
            env=env, capture_output=True, text=True, timeout=300)
        status = json.loads(status_file.read_text())
        assert done.returncode == 0 and status["phase"] == "Succeeded", (done.stdout, status)
        records = probe_records(tmp_path / "probes")
        assert [r["assigned"] for r in records] == [{"CPU": 0.5, "accel_v5": 1.5}] * 2
    finally:
        stop(head, timeout=40)
