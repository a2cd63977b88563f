"""The HPOCampaign CRD: generated from the model, structural, and its rules do what they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import jsonschema
import pytest
import yaml

from hpo_operator.campaign.manifest import ManifestError, parse_campaign
from hpo_operator.kuberay import crd

from tests.support.campaigns import replace

from .conftest import CRD_FILE, campaign_doc

ROOT = CRD_FILE.parents[1]
CHART_CRD = ROOT / "charts/hpo-operator/crds" / CRD_FILE.name


def schema() -> dict[str, Any]:
    return dict(yaml.safe_load(CRD_FILE.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def test_committed_crd_matches_the_model() -> None:
    assert CRD_FILE.read_text() == crd.render(), (
        "crds/ drifted from the spec model: run "
        "`python -m hpo_operator.kuberay.crd > crds/hpocampaigns.hpo.dev.yaml` and copy it to "
        "charts/hpo-operator/crds/")


def test_chart_carries_an_identical_copy() -> None:
    assert CHART_CRD.read_bytes() == CRD_FILE.read_bytes()


def _walk(node: Any, path: str = "") -> list[str]:
    """Violations of Kubernetes' structural-schema rules."""
    problems = []
    if not isinstance(node, dict):
        return problems
    for banned in ("$ref", "anyOf", "oneOf", "allOf", "not", "default", "title", "const"):
        if banned in node:
            problems.append(f"{path}: has {banned}")
    free = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
    if "type" not in node and not free:
        problems.append(f"{path}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties together")
    for key, child in (node.get("properties") or {}).items():
        problems += _walk(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            problems += _walk(node[key], f"{path}[{key}]")
    return problems


def test_schema_is_structural() -> None:
    assert _walk(schema()) == []


def test_crd_names_columns_and_status_subresource() -> None:
    doc = yaml.safe_load(CRD_FILE.read_text())
    version = doc["spec"]["versions"][0]
    assert doc["spec"]["names"]["shortNames"] == ["hpoc"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase" and columns["Best"] == ".status.bestTrial.metric"
    assert {"Completed", "Total", "Age"} <= columns.keys()


def test_preserve_unknown_fields_only_on_free_maps() -> None:
    text = yaml.safe_dump(schema()["properties"]["spec"])
    free = []

    def collect(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("x-kubernetes-preserve-unknown-fields"):
                free.append(path)
            for key, child in node.items():
                collect(child, f"{path}.{key}" if key not in ("properties",) else path)
    collect(schema()["properties"]["spec"], "spec")
    assert "preserve" in text
    assert sorted(free) == sorted([
        "spec.trainable.config",
        "spec.searchSpace.additionalProperties.values.items",
        "spec.searchSpace.additionalProperties.initial.values.items",
        "spec.searchSpace.additionalProperties.params.additionalProperties.values.items",
        "spec.searchSpace.additionalProperties.params.additionalProperties.initial.values.items",
        "spec.searchSpace.additionalProperties.when.values.items",
        "spec.searchSpace.additionalProperties.params.additionalProperties.when.values.items",
        "spec.strategy.searcher.pointsToEvaluate.items.additionalProperties"])


def examples() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", examples(), ids=lambda p: p.name)
def test_examples_validate_against_the_crd_and_the_model(path: Path) -> None:
    validator = jsonschema.Draft4Validator(schema())
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "HPOCampaign":
            assert [e.message for e in validator.iter_errors(doc)] == []
            assert _cel_failures(doc) == []
            parse_campaign(doc)


def test_ray_tunes_options_stop_criteria_and_starting_values_pass_the_crd() -> None:
    doc = campaign_doc(
        searchSpace=replace({
            "lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": True,
                   "initial": {"min": 1e-3, "max": 1e-2}},
            "momentum": {"type": "choice", "values": [0.8, 0.9], "mutate": False,
                         "role": "algorithm", "initial": {"values": [0.9]}}}),
        strategy={"scheduler": {"type": "pbt", "timeAttr": "training_iteration",
                                "perturbationInterval": 2, "burnInPeriod": 2,
                                "requireAttrs": False, "clipToRange": True}},
        budget={"trials": 4, "maxIterationsPerTrial": 8, "maxConcurrentTrials": None,
                "stop": {"thresholds": [{"metric": "loss", "threshold": 0.1}],
                         "plateau": {"std": 0.001, "numResults": 3}, "atTarget": True}},
        objective={"metric": "loss", "mode": "min", "target": 0.05},
        checkpoint={"scoreAttribute": "loss", "keep": 4})
    validator = jsonschema.Draft4Validator(schema())
    assert [e.message for e in validator.iter_errors(doc)] == []
    assert _cel_failures(doc) == []
    parse_campaign(doc)
    median = campaign_doc(strategy={"scheduler": {"type": "median", "gracePeriod": 30.5}},
                          budget={"trials": 4, "timeLimit": "5m"})
    assert [e.message for e in validator.iter_errors(median)] == [] and not _cel_failures(median)


def test_schema_rejects_what_the_model_rejects() -> None:
    validator = jsonschema.Draft4Validator(schema())
    bad = campaign_doc(objective={"metric": "loss", "mode": "lowest"})
    assert not validator.is_valid(bad)
    with pytest.raises(ManifestError):
        parse_campaign(bad)


# -- CEL rules, evaluated with a CEL interpreter on the objects they are attached to -----------

def _rules_at(node: dict[str, Any], value: Any, found: list[tuple[str, Any]]) -> None:
    for rule in node.get("x-kubernetes-validations", []):
        found.append((rule["rule"], _typed(node, value)))
    if isinstance(value, dict):
        for key, child in value.items():
            sub = (node.get("properties") or {}).get(key) or node.get("additionalProperties")
            if isinstance(sub, dict):
                _rules_at(sub, child, found)


def _typed(node: dict[str, Any], value: Any) -> Any:
    """Numbers as Kubernetes hands them to CEL: a ``type: number`` field is a double."""
    if isinstance(value, dict):
        props = node.get("properties") or {}
        return {k: _typed(props.get(k) or node.get("additionalProperties") or {}, v)
                for k, v in value.items()}
    if node.get("type") == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _cel_failures(doc: dict[str, Any]) -> list[str]:
    """The rules a create of ``doc`` breaks (transition rules only run on updates)."""
    env = celpy.Environment()
    found: list[tuple[str, Any]] = []
    _rules_at(schema(), doc, found)
    return [rule for rule, value in found if "oldSelf" not in rule
            and not env.program(env.compile(rule)).evaluate({"self": celpy.json_to_cel(value)})]


def _update_failures(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The root's transition rules an update from ``old`` to ``new`` breaks."""
    env = celpy.Environment()
    root = schema()
    bound = {"self": celpy.json_to_cel(_typed(root, new)),
             "oldSelf": celpy.json_to_cel(_typed(root, old))}
    rules = [r["rule"] for r in root["x-kubernetes-validations"] if "oldSelf" in r["rule"]]
    assert rules, "the CRD has no transition rule"
    return [r for r in rules if not env.program(env.compile(r)).evaluate(bound)]


@pytest.mark.parametrize("overrides, rule", [
    ({"searchSpace": {"lr": {"type": "float", "min": 0.1, "max": 0.01}}}, "self.min < self.max"),
    ({"searchSpace": {"lr": {"type": "float", "min": 0, "max": 1, "log": True}}}, "self.min > 0.0"),
    ({"searchSpace": {"lr": {"type": "float", "max": 1}}}, "has(self.min)"),
    ({"searchSpace": {"c": {"type": "choice", "values": []}}}, "size(self.values) > 0"),
    ({"strategy": {"scheduler": {"type": "asha", "maxT": 5, "gracePeriod": 9}}},
     "double(self.gracePeriod) <= double(self.maxT)"),
])
def test_cel_rules_reject_invalid_specs(overrides: dict[str, Any], rule: str) -> None:
    failures = _cel_failures(campaign_doc(**overrides))
    assert any(rule in f for f in failures), failures
    with pytest.raises(ManifestError):  # the model agrees with the rule
        parse_campaign(campaign_doc(**overrides))


def test_cel_rules_check_the_name_as_kuberay_will() -> None:
    assert any("size() <= 42" in f for f in _cel_failures(campaign_doc("n" * 43)))
    assert _cel_failures(campaign_doc("n" * 42)) == []
    assert any("matches(" in f for f in _cel_failures(campaign_doc("1st-sweep")))


def test_an_accepted_spec_cannot_change_but_a_rejected_one_can_be_corrected() -> None:
    old = campaign_doc()
    edited = campaign_doc(budget={"trials": 99})
    status_only = {**old, "status": {"phase": "Running"}}
    assert _update_failures(old, edited)  # no status yet: accepted as far as the server knows
    assert _update_failures({**old, "status": {"phase": "Succeeded"}}, edited)
    assert _update_failures(status_only, {**status_only, "metadata": old["metadata"]}) == []
    assert _update_failures({**old, "status": {"phase": "ValidationFailed"}}, edited) == []
