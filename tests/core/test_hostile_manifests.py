"""Manifests written to break what comes after validation are refused by it, each problem with its
field path, the rejected value (cut short) and the rule."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from hpo_operator.campaign.manifest import ManifestError, load_manifest, parse_campaign

from tests.support.campaigns import campaign as manifest
from tests.support.campaigns import problems

INF = float("inf")


def cluster(**fields: Any) -> dict[str, Any]:
    return {"perTrial": {"cpu": 1}, "cluster": {"workers": 1, **fields}}


HOSTILE = {
    # numbers that are not finite, or too big for what renders them
    "infinite float bound": ({"searchSpace": {"x": {"type": "float", "min": 0.0, "max": INF}}},
                             "spec.searchSpace.x.max", "finite"),
    "NaN cpus": ({"resources": {"perTrial": {"cpu": float("nan")}}},
                 "spec.resources.perTrial.cpu", "finite"),
    "infinite reduction factor": ({"strategy": {"scheduler": {"type": "asha", "maxT": 4,
                                                              "reductionFactor": INF}}},
                                  "spec.strategy.scheduler.reductionFactor", "finite"),
    "infinite target": ({"objective": {"metric": "loss", "mode": "min", "target": -INF}},
                        "spec.objective.target", "finite"),
    "time limit of 1e400 s": ({"budget": {"trials": 2, "timeLimit": "1" + "0" * 400 + "s"}},
                              "spec.budget.timeLimit", "expected a duration"),
    "time limit beyond int": ({"budget": {"trials": 2, "timeLimit": 10**400}},
                              "spec.budget.timeLimit", "beyond any limit"),
    "time limit beyond KubeRay's int32": ({"budget": {"trials": 2, "timeLimit": 2**31}},
                                          "spec.budget.timeLimit", "less than or equal"),
    "unbounded workers": ({"resources": cluster(workers=10**6)},
                          "spec.resources.cluster.workers", "less than or equal to 1000"),
    "unbounded cpus": ({"resources": cluster(cpusPerWorker=1e9)},
                       "spec.resources.cluster.cpusPerWorker", "less than or equal to 1024"),
    "unbounded iterations": ({"budget": {"trials": 2, "maxIterationsPerTrial": 10**12}},
                             "spec.budget.maxIterationsPerTrial", "less than or equal"),
    "integer beyond int64": ({"resources": cluster(tolerations=[
        {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2**63}])},
        "spec.resources.cluster.tolerations[0].tolerationSeconds", "less than or equal"),
    "seed beyond numpy's": ({"strategy": {"searcher": {"type": "random", "seed": 2**32}}},
                            "spec.strategy.searcher.seed", "less than or equal"),
    "config integer beyond int64": ({"trainable": {"entrypoint": "a:B", "config": {"n": 2**64}}},
                                    "spec.trainable.config", "64-bit"),
    # coercions
    "a string for an int": ({"budget": {"trials": "24"}}, "spec.budget.trials",
                            "not a string (write it without quotes)"),
    "a boolean for an int": ({"budget": {"trials": True}}, "spec.budget.trials", "not a boolean"),
    "a fraction for an int": ({"budget": {"trials": 2.5}}, "spec.budget.trials", "not a fraction"),
    # Kubernetes' and OCI's grammars
    "toleration with a wrong type": ({"resources": cluster(tolerations=[
        {"key": 3, "operator": "Exists"}])}, "spec.resources.cluster.tolerations[0].key",
        "must be a string"),
    "toleration with an extra key": ({"resources": cluster(tolerations=[
        {"operator": "Exists", "tolerationSecond": 5}])},
        "spec.resources.cluster.tolerations[0].tolerationSecond", "did you mean"),
    "toleration Exists with a value": ({"resources": cluster(tolerations=[
        {"key": "k", "operator": "Exists", "value": "v"}])},
        "spec.resources.cluster.tolerations[0]", "must have no value"),
    "node selector key": ({"resources": cluster(nodeSelector={"bad key": "v"})},
                          "spec.resources.cluster.nodeSelector.bad key", "label key"),
    "node selector value": ({"resources": cluster(nodeSelector={"k": "-v"})},
                            "spec.resources.cluster.nodeSelector.k", "label value"),
    "image with capitals": ({"resources": cluster(image="Team/Trainer:1")},
                            "spec.resources.cluster.image", "OCI image reference"),
    "image with a space": ({"resources": cluster(image="trainer :1")},
                           "spec.resources.cluster.image", "OCI image reference"),
    "image with a short digest": ({"resources": cluster(image="trainer@sha256:abc")},
                                  "spec.resources.cluster.image", "OCI image reference"),
    "claim name": ({"storage": {"path": "/mnt/x", "volumeClaim": "Runs_PVC"}},
                   "spec.storage.volumeClaim", "DNS subdomain"),
    "memory beyond int64 bytes": ({"resources": cluster(memoryPerWorker="999999999999999Ti")},
                                  "spec.resources.cluster.memoryPerWorker", "between 1Mi"),
    "namespace": ({}, "metadata.namespace", "DNS label"),
    # storage paths
    "path with ..": ({"storage": {"path": "/mnt/../etc"}}, "spec.storage.path", "'..'"),
    "root path": ({"storage": {"path": "/"}}, "spec.storage.path", "absolute path of names"),
    "path with a newline": ({"storage": {"path": "/mnt/a\nb"}}, "spec.storage.path",
                            "absolute path of names"),
    "path with a trailing slash": ({"storage": {"path": "/mnt/x/"}}, "spec.storage.path",
                                   "without a trailing"),
    "the manifest's mount": ({"storage": {"path": "/etc/hpo"}}, "spec.storage.path",
                             "system directory /etc"),
    "a parent of Ray's temp dir": ({"storage": {"path": "/tmp"}}, "spec.storage.path",
                                   "collides with /tmp/ray"),
    "inside the shared memory": ({"storage": {"path": "/dev/shm/x"}}, "spec.storage.path",
                                 "system directory /dev"),
    "relative path": ({"storage": {"path": "runs"}}, "spec.storage.path", "absolute"),
    # free-form values
    "deep config": ({"trainable": {"entrypoint": "a:B", "config": {"d": [[[[[[[[[[[1]]]]]]]]]]]}}},
                    "spec.trainable.config", "deeper than 10 levels"),
    "large config": ({"trainable": {"entrypoint": "a:B", "config": {"d": "x" * 70_000}}},
                     "spec.trainable.config", "larger than 8 KiB"),
    "config date": ({"trainable": {"entrypoint": "a:B", "config": {"d": yaml.safe_load(
        "2024-01-01")}}}, "spec.trainable.config", "quote it"),
    "long choice value": ({"searchSpace": {"c": {"type": "choice", "values": ["x" * 65]}}},
                          "spec.searchSpace.c.values[0]", "longer than 64 bytes"),
    "choice value a list": ({"searchSpace": {"c": {"type": "choice", "values": [[1]]}}},
                            "spec.searchSpace.c.values[0]", "string, a number or a boolean"),
    "too many parameters": ({"searchSpace": {f"p{i}": {"type": "int", "min": 0, "max": 1}
                                             for i in range(33)}},
                            "spec.searchSpace", "at most 32"),
    "a snake_case field": ({"budget": {"trials": 2, "max_iterations_per_trial": 3}},
                           "spec.budget.max_iterations_per_trial", "did you mean"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_values_are_refused_with_path_value_and_rule(name: str) -> None:
    overrides, path, rule = HOSTILE[name]
    doc = manifest(**overrides)
    if name == "namespace":
        doc["metadata"]["namespace"] = "Team A"
    found = problems(doc)
    assert path in found, found
    assert rule in found[path]
    assert len(found[path]) < 600  # the value is quoted cut short, never whole


def test_unknown_fields_are_refused_at_every_level() -> None:
    doc = manifest()
    doc["extra"] = 1
    doc["metadata"]["finaliser"] = []
    found = problems(doc)
    assert "is not a known field" in found["extra"]
    assert "did you mean finalizers?" in found["metadata.finaliser"]


def test_the_fields_of_kubernetes_objectmeta_and_a_status_are_accepted() -> None:
    doc = manifest()
    doc["metadata"].update({"labels": {"team": "a"}, "annotations": {"note": "x"}, "uid": "u",
                            "resourceVersion": "12", "generation": 3, "finalizers": ["f"],
                            "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": []})
    doc["status"] = {"phase": "Running"}  # as `kubectl get -o yaml` exports it
    assert parse_campaign(doc).metadata.name == "toy"


def test_a_1000_level_config_is_refused_without_recursion_errors() -> None:
    deep: Any = 1
    for _ in range(1000):
        deep = {"d": deep}
    doc = manifest()
    doc["spec"]["trainable"]["config"] = {"d": deep}  # the test builder would recurse into it
    assert "deeper than 10 levels" in problems(doc)["spec.trainable.config"]


def test_a_value_shared_many_times_costs_no_more_than_the_bound(tmp_path) -> None:
    """The alias bomb of the review, as objects: levels of nine references to the level below."""
    shared: Any = ["lol"] * 9
    for _ in range(8):
        shared = [shared] * 9
    doc = manifest()
    doc["spec"]["trainable"]["config"] = {"bomb": shared}  # not copied: the references stay
    started = time.monotonic()
    assert "larger than 8 KiB" in problems(doc)["spec.trainable.config"]
    assert time.monotonic() - started < 5


ALIAS_BOMB = """\
apiVersion: hpo.dev/v1alpha1
kind: HPOCampaign
metadata: {name: toy}
spec:
  objective: {metric: loss, mode: min}
  searchSpace: {x: {type: float, min: 0.0, max: 1.0}}
  budget: {trials: 2}
  trainable:
    entrypoint: a:B
    config:
      a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
      h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
      i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.parametrize("text, message", [
    (ALIAS_BOMB, "expands to more than 100000 values"),
    ("a: &a [x, *a]\n", "refers to itself"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nests deeper than 64 levels"),
    ("a: 1" + "0" * 5000 + "\n", "an integer of more than 4300 digits"),
])
def test_the_loader_refuses_documents_before_building_them(tmp_path, text: str,
                                                           message: str) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(ManifestError) as refused:
        load_manifest(path)
    assert time.monotonic() - started < 5
    [problem] = refused.value.problems
    assert problem.path == str(path) and message in problem.message


def test_yaml_reads_numbers_as_kubectl_does(tmp_path) -> None:
    """``1e-4`` is a float in YAML 1.2 (and to kubectl); YAML 1.1 would make it a string, which
    the strict model then refuses."""
    path = tmp_path / "campaign.yaml"
    doc = manifest(searchSpace={"lr": {"type": "float", "min": 1, "max": 2}})
    text = yaml.safe_dump(doc).replace("min: 1", "min: 1e-4").replace("max: 2", "max: 1E+1")
    path.write_text(text)
    lr = load_manifest(path).spec.search_space["lr"]
    assert (lr.min, lr.max) == (1e-4, 10.0)
    path.write_text(text.replace("min: 1e-4", "min: 1.0e+400"))
    with pytest.raises(ManifestError, match="finite"):
        load_manifest(path)


def test_a_file_larger_than_any_manifest_is_not_read(tmp_path) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text("# " + "x" * (2 * 1024 * 1024))
    with pytest.raises(ManifestError, match="larger than 1 MiB"):
        load_manifest(path)
