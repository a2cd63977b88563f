"""A campaign's status stays small whatever its spec: far below etcd's object limit, so that the
status that says what went wrong can always be written.

The CRD bounds every size a spec may have; the largest spec it admits is built from the CRD itself,
and each status the operator can compute for it (rejected, refused by the API, running with the
largest trials and the longest messages) serialises to less than 64 KiB.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from hpo_operator.campaign.manifest import ManifestError, parse_campaign
from hpo_operator.campaign.schedule import bounded
from hpo_operator.campaign.spec import bounds
from hpo_operator.campaign.status import (
    CampaignStatus,
    HyperparameterSchedule,
    LrSchedule,
    Phase,
    Reproduction,
    TrialCounts,
    TrialSummary,
)
from hpo_operator.controller import reconcile

from .conftest import CRD_FILE

LIMIT = 64 * 1024
ETCD_OBJECT = 1536 * 1024
HUGE = "é" * 300_000  # 600 KB of text in a message


def spec_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def size(status: CampaignStatus) -> int:
    """Bytes of the status as the API server stores it (JSON, UTF-8)."""
    return len(json.dumps(status.to_dict(), ensure_ascii=False).encode())


def _key_limit(node: dict[str, Any]) -> int | None:
    for rule in node.get("x-kubernetes-validations", []):
        found = re.fullmatch(r"self\.all\(k, k\.size\(\) <= (\d+)\)", rule["rule"])
        if found:
            return int(found.group(1))
    return None


def unbounded(node: dict[str, Any], path: str = "spec") -> list[str]:
    """Nodes of the spec schema whose size the CRD leaves open."""
    found = []
    kind = node.get("type")
    if kind == "string" and "maxLength" not in node and "enum" not in node:
        found.append(path)
    if node.get("x-kubernetes-int-or-string") and not {"maxLength", "maximum"} <= node.keys():
        found.append(path)
    if kind == "array":
        found += [path] if "maxItems" not in node else []
        found += unbounded(node["items"], path + "[]")
    if kind == "object" and "properties" not in node:
        found += [path] if "maxProperties" not in node else []
        if isinstance(node.get("additionalProperties"), dict):
            if _key_limit(node) is None and node["additionalProperties"].get("type"):
                found.append(path + " keys")
            found += unbounded(node["additionalProperties"], path + ".*")
    if kind is None and node.get("x-kubernetes-preserve-unknown-fields") and "maxLength" not in node:
        found.append(path)
    for key, child in (node.get("properties") or {}).items():
        found += unbounded(child, f"{path}.{key}")
    return found


def test_the_crd_bounds_every_size_of_a_spec() -> None:
    # trainable.config is free-form: the CRD bounds its keys' number, the model its depth and
    # size (the API server bounds the whole object).
    assert unbounded(spec_schema()) == []


def largest(node: dict[str, Any], free_bytes: int) -> Any:
    """The largest value ``node`` admits: every property, every string at its maxLength, every
    list and map at its maxItems or maxProperties (content aside: patterns do not change sizes).
    A free-form map gets ``free_bytes`` of values."""
    if node.get("x-kubernetes-int-or-string"):
        return "9" * node["maxLength"]
    if "enum" in node:
        return max(node["enum"], key=lambda v: len(str(v)))
    kind = node.get("type")
    if kind == "string" or (kind is None and "maxLength" in node):
        return "x" * node["maxLength"]
    if kind in ("integer", "number"):
        return node.get("maximum", 2**63 - 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return [largest(node["items"], free_bytes) for _ in range(node["maxItems"])]
    if "properties" in node:
        return {key: largest(child, free_bytes) for key, child in node["properties"].items()}
    count, key_length = node["maxProperties"], _key_limit(node) or bounds.MAX_CONFIG_KEY_LENGTH
    keys = [f"{i:0{key_length}d}" for i in range(count)]
    if "additionalProperties" in node:
        return {key: largest(node["additionalProperties"], free_bytes) for key in keys}
    return {key: "x" * (free_bytes // count) for key in keys}


def test_the_largest_spec_the_crd_admits_gives_a_small_validation_failed_status() -> None:
    spec = largest(spec_schema(), free_bytes=ETCD_OBJECT)
    doc = {"apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign",
           "metadata": {"name": "n" * 42, "namespace": "default"}, "spec": spec}
    assert len(json.dumps(doc)) > 4 * ETCD_OBJECT  # beyond what the API server would store
    with pytest.raises(ManifestError) as rejected:
        parse_campaign(doc)
    status = reconcile.validation_failed(rejected.value.problems)
    assert len(rejected.value.problems) > 100
    assert size(status) < 8 * 1024
    message = status.message or ""
    assert message.endswith(" … [truncated]") or "more)" in message


def test_a_rejected_value_is_quoted_once() -> None:
    doc = {"apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign", "metadata": {"name": "c"},
           "spec": {"objective": {"metric": "loss", "mode": "min"},
                    "searchSpace": {"x": {"type": "float", "min": 0, "max": 1}},
                    "budget": {"trials": "z" * 600_000},
                    "trainable": {"entrypoint": "a:B"}}}
    with pytest.raises(ManifestError) as rejected:
        parse_campaign(doc)
    status = json.dumps(reconcile.validation_failed(rejected.value.problems).to_dict())
    assert status.count("'zzz") == 1 and len(status) < 2048


def test_a_refusal_by_the_api_server_gives_a_small_status() -> None:
    status = reconcile.provisioning_failed(CampaignStatus(phase=Phase.PROVISIONING), "Invalid",
                                           f"create RayJob: HTTP 422 {HUGE}")
    assert status.phase is Phase.FAILED and size(status) < 8 * 1024
    assert status.to_dict()["message"].endswith(" … [truncated]")


def _largest_config(value_bytes: int = bounds.MAX_CHOICE_BYTES) -> dict[str, Any]:
    value = "😀" * (value_bytes // 4)  # the most bytes a choice value may take
    return {f"{i:02d}" + "p" * (bounds.MAX_NAME_LENGTH - 2): value
            for i in range(bounds.MAX_PARAMETERS)}


def test_a_running_campaign_with_the_largest_trials_and_messages_gives_a_small_status() -> None:
    config = _largest_config()
    trials = [TrialSummary(id=f"trial_{i:05d}", config=config, metric=0.1 * i, iteration=10**6,
                           reached_at="2026-01-01T00:00:00Z") for i in range(20)]
    schedule = HyperparameterSchedule(
        trial_id="trial_00000", iterations=bounds.MAX_ITERATIONS,
        params={name: [[i, value] for i in range(10_000)] for name, value in config.items()},
        lr_schedule=LrSchedule(param="lr", initial=0.1, milestones=list(range(64)), gamma=0.5,
                               rms_log10_error=0.1))
    # The winner's reproduction record holds its whole config: the largest trainable.config too.
    value = "v" * ((bounds.MAX_CONFIG_BYTES - 400) // 60 - bounds.MAX_CONFIG_KEY_LENGTH - 6)
    fixed = {f"{i:03d}" + "k" * (bounds.MAX_CONFIG_KEY_LENGTH - 3): value for i in range(60)}
    assert len(json.dumps(fixed)) < bounds.MAX_CONFIG_BYTES < len(json.dumps(fixed)) + 500
    trials[0].reproduce = Reproduction(
        entrypoint="m" * bounds.MAX_ENTRYPOINT_LENGTH, config={**fixed, **config}, seed=2**32 - 1,
        dataset_fingerprint="f" * 64, image="i" * bounds.MAX_IMAGE_LENGTH,
        checkpoint="/" + "p" * bounds.MAX_STORAGE_PATH + "/" + "c" * 200,
        versions={"hpo-operator": "0.1.0", "ray": "2.60.0", "torch": "2.13.0",
                  "torch-geometric": "2.8.1", "python": "3.11.7"})
    progress = CampaignStatus(
        phase=Phase.RUNNING, message=HUGE, heartbeat_time="2026-01-01T00:00:00Z", metric="m" * bounds.MAX_METRIC_LENGTH, mode="min",
        trials=TrialCounts(total=bounds.MAX_TRIALS, running=bounds.MAX_TRIALS),
        top_trials=trials[:5], best_trial=trials[0], schedule=bounded(schedule),
        experiment_path="/" + "p" * bounds.MAX_STORAGE_PATH + "/" + "n" * 42)
    for kind in ("Complete", "TrialsErrored", "NodesReady", "Unschedulable", "Resumed",
                 "MetricNotReported", "TrainableNotFound"):
        progress.set_condition(kind, False, "R" * 1000, HUGE)
    start = reconcile.not_provisioned(CampaignStatus(), "Forbidden", HUGE)
    rayjob = {"metadata": {"name": "c-tune"},
              "status": {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}}
    running = reconcile.fold(start, rayjob, progress, "min")
    running.set_condition("DriverStalled", True, "NoProgress", HUGE)  # the operator's liveness
    assert len(running.conditions) == 10 and running.best_trial is not None
    assert size(running) < LIMIT
    failed = reconcile.fold(running, {**rayjob, "status": {
        "jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "message": HUGE}}, progress, "min")
    assert failed.phase is Phase.FAILED and size(failed) < LIMIT
    assert failed.best_trial is not None and failed.best_trial.reproduce is not None
    assert all(t.reproduce is None for t in failed.top_trials)  # the record is kept once
