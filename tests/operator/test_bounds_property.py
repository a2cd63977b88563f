"""Whatever ``hpo validate`` accepts renders into objects KubeRay and Kubernetes accept and into a
batch script Slurm accepts: a property over manifests within and at the spec model's bounds.

Each accepted manifest is also admitted by our own CRD (schema and CEL rules: the bounds are the
same on both sides). Its RayJob is checked against KubeRay's real CRD, its ConfigMaps against
Kubernetes' schema, and all of them for what the API server checks beyond a schema (names, labels,
volume mounts, quantities, int32 fields). Its batch script must parse (``bash -n``), carry
directives in Slurm's syntax and, where a Slurm controller answers, pass ``sbatch --test-only``.
Deterministic (derandomised), so that it never fails by chance.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import pytest

from hpo_operator.campaign.manifest import ManifestError, parse_campaign
from hpo_operator.campaign.spec import Campaign, bounds
from hpo_operator.kuberay.rayjob import ClusterDefaults
from hpo_operator.kuberay.render import build_objects
from hpo_operator.slurm.options import SlurmOptions, SlurmOptionsError
from hpo_operator.slurm.script import render_batch_script

from . import test_crd as crd_checks
from .test_rayjob import rayjob_validator

hypothesis = pytest.importorskip("hypothesis", reason="the property tests need hypothesis "
                                 "(pip install -e '.[test]')")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402

from tests.support.bounded_manifests import manifest  # noqa: E402

PROPERTY = settings(max_examples=200, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Kubernetes' own validation (k8s.io/apimachinery/pkg/util/validation), stated independently of
# the spec model's grammars.
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")
INSTALLATIONS = {  # ClusterDefaults at the ends of what controller.settings accepts
    "plain": ClusterDefaults(),
    "restricted": ClusterDefaults(run_as_user=bounds.INT64_MAX,
                                  deadline_margin_seconds=bounds.MAX_DEADLINE_MARGIN_SECONDS,
                                  backoff_limit=bounds.INT32_MAX,
                                  ttl_seconds_after_finished=bounds.INT32_MAX),
}


def _label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    return bool(LABEL_NAME.fullmatch(name) and len(name) <= 63 and (
        not prefix or (DNS_SUBDOMAIN.fullmatch(prefix) and len(prefix) <= 253)))


def _label_value(value: str) -> bool:
    return value == "" or bool(LABEL_NAME.fullmatch(value) and len(value) <= 63)


def _meta_problems(meta: dict[str, Any], where: str) -> list[str]:
    found = [] if DNS_SUBDOMAIN.fullmatch(meta["name"]) and len(meta["name"]) <= 253 \
        else [f"{where}: name {meta['name']!r}"]
    for key, value in (meta.get("labels") or {}).items():
        if not (_label_key(key) and _label_value(value)):
            found.append(f"{where}: label {key!r}={value!r}")
    return found


def _toleration_problems(t: dict[str, Any]) -> list[str]:
    found = []
    if t.get("key") and not _label_key(t["key"]):
        found.append(f"key {t['key']!r}")
    if not t.get("key") and t.get("operator") != "Exists":
        found.append("no key needs operator Exists")
    if t.get("operator") == "Exists" and t.get("value"):
        found.append("operator Exists with a value")
    if t.get("operator") in (None, "Equal") and not _label_value(t.get("value", "")):
        found.append(f"value {t.get('value')!r}")
    if "tolerationSeconds" in t and t.get("effect") != "NoExecute":
        found.append("tolerationSeconds without NoExecute")
    return found


def _pod_problems(pod: dict[str, Any], where: str) -> list[str]:
    """What the API server checks of a pod template beyond the CRD's schema."""
    found: list[str] = []
    volumes = [v["name"] for v in pod.get("volumes", [])]
    if len(set(volumes)) != len(volumes) or not all(re.fullmatch(_DNS_LABEL, v) for v in volumes):
        found.append(f"{where}: volumes {volumes}")
    for v in pod.get("volumes", []):
        claim = v.get("persistentVolumeClaim", {}).get("claimName")
        if claim is not None and not (DNS_SUBDOMAIN.fullmatch(claim) and len(claim) <= 253):
            found.append(f"{where}: claimName {claim!r}")
    for key, value in (pod.get("nodeSelector") or {}).items():
        if not (_label_key(key) and _label_value(value)):
            found.append(f"{where}: nodeSelector {key!r}={value!r}")
    found += [f"{where}: toleration: {p}" for t in pod.get("tolerations", [])
              for p in _toleration_problems(t)]
    for c in pod["containers"]:
        paths = [m["mountPath"] for m in c.get("volumeMounts", [])]
        if len(set(paths)) != len(paths) or any(":" in p or not p.startswith("/") for p in paths):
            found.append(f"{where}: {c['name']}: mount paths {paths}")  # two mounts at one path
        if any(m["name"] not in volumes for m in c.get("volumeMounts", [])):
            found.append(f"{where}: {c['name']}: a mount of no volume")
        if not c["image"] or c["image"].strip() != c["image"]:
            found.append(f"{where}: {c['name']}: image {c['image']!r}")
        for kind in ("requests", "limits"):
            for resource, q in c.get("resources", {}).get(kind, {}).items():
                if not QUANTITY.fullmatch(q) or len(q) > 30:
                    found.append(f"{where}: {c['name']}: {kind}.{resource} {q!r}")
    return found


def _rayjob_problems(job: dict[str, Any]) -> list[str]:
    spec = job["spec"]
    found = [] if DNS_1035.fullmatch(job["metadata"]["name"]) and \
        len(job["metadata"]["name"]) <= 47 else [f"RayJob name {job['metadata']['name']!r}"]
    for field in ("activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        if field in spec and not 0 < spec[field] <= bounds.INT32_MAX:  # int32 in KubeRay's types
            found.append(f"{field} {spec[field]}")
    cluster = spec["rayClusterSpec"]
    pods = {"head": cluster["headGroupSpec"]["template"]["spec"],
            **{g["groupName"]: g["template"]["spec"] for g in cluster["workerGroupSpecs"]}}
    if "submitterPodTemplate" in spec:
        pods["submitter"] = spec["submitterPodTemplate"]["spec"]
    for name, pod in pods.items():
        found += _pod_problems(pod, name)
    for group in cluster["workerGroupSpecs"]:
        if not 0 < group["replicas"] <= bounds.INT32_MAX:
            found.append(f"replicas {group['replicas']}")
    return found


@functools.cache
def _kubernetes_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """Kubernetes' schema of a kind (kubernetes-validate's, strict, 1.30), loaded once."""
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    where = "kubernetes-json-schema/v1.30.0-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = schema_contents(f"{where}/{kind.lower()}-{group}.json", "1.30.0")
    definitions = schema_contents(f"{where}/_definitions.json", "1.30.0")
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _kubernetes_errors(obj: dict[str, Any]) -> list[str]:
    validator = _kubernetes_validator(obj["apiVersion"], obj["kind"])
    return [f"{obj['kind']}: {'.'.join(map(str, e.path))}: {e.message[:200]}"
            for e in validator.iter_errors(obj)]


@functools.cache
def _our_crd() -> tuple[dict[str, Any], jsonschema.Draft4Validator]:
    schema = crd_checks.schema()
    return schema, jsonschema.Draft4Validator(schema)


_CEL = celpy.Environment()  # at import: it sets the recursion limit, which hypothesis watches


@functools.cache
def _cel_program(rule: str) -> Any:
    return _CEL.program(_CEL.compile(rule))


def _crd_problems(doc: dict[str, Any]) -> list[str]:
    """What our own CRD (schema and create-time CEL rules) says of the manifest."""
    schema, validator = _our_crd()
    found = [f"{'.'.join(map(str, e.path))}: {e.message[:200]}"
             for e in validator.iter_errors(doc)]
    rules: list[tuple[str, Any]] = []
    crd_checks._rules_at(schema, doc, rules)
    found += [rule for rule, value in rules if "oldSelf" not in rule
              and not _cel_program(rule).evaluate({"self": celpy.json_to_cel(value)})]
    return found


def _data(configmap: dict[str, Any]) -> bytes:
    return "".join(configmap["data"].values()).encode()


def _check_kubernetes(campaign: Campaign, doc: dict[str, Any], rayjob_crd: Any) -> None:
    assert _crd_problems(doc) == []
    for installation, defaults in INSTALLATIONS.items():
        objects = build_objects(campaign, defaults, owner_uid="u-1", token="t" * 64)
        *children, job = objects
        assert job["kind"] == "RayJob"
        errors = [f"{'.'.join(map(str, e.path))}: {e.message[:200]}"
                  for e in rayjob_crd.iter_errors(job)]
        assert errors == [], installation
        assert _rayjob_problems(job) == [], installation
        for obj in children:
            assert _kubernetes_errors(obj) == [], installation
            assert _meta_problems(obj["metadata"], obj["kind"]) == []
            if obj["kind"] == "ConfigMap":
                assert all(CONFIGMAP_KEY.fullmatch(k) for k in obj["data"])
                assert len(_data(obj)) < 1024 * 1024  # a ConfigMap's limit
        assert shlex.split(job["spec"]["entrypoint"])[:3] == ["hpo", "run", "/etc/hpo/campaign.yaml"]


# -- Slurm -----------------------------------------------------------------------------------------
DIRECTIVES = {
    "job-name": DNS_1035.pattern, "nodes": r"[1-9][0-9]{0,3}", "ntasks-per-node": "1",
    "cpus-per-task": r"[1-9][0-9]{0,3}", "gpus-per-node": r"[1-9][0-9]?",
    "time": r"([0-9]+-)?([01][0-9]|2[0-3]):[0-5][0-9]:00", "signal": r"B:USR1@[1-9][0-9]*",
    "chdir": r"/[^\s%]*", "output": r"/[^\s%]*/slurm-%j\.out",
}
WORKDIR = Path(tempfile.mkdtemp(prefix="hpo-property-"))


@functools.cache
def sbatch_answers() -> bool:
    """Whether a Slurm controller answers ``sbatch --test-only`` here (tests/slurm/conftest.py
    starts one for the Slurm tests; this property only uses one that is up)."""
    probe = WORKDIR / "probe.sbatch"
    probe.write_text("#!/bin/bash\n#SBATCH --time=00:01:00\ntrue\n")
    try:
        done = subprocess.run(["sbatch", "--test-only", str(probe)], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _check_slurm(campaign: Campaign) -> None:
    spec = campaign.spec
    try:
        script = render_batch_script(campaign, SlurmOptions(workdir=WORKDIR))
    except SlurmOptionsError as refused:  # the one refusal: a trial bigger than a node
        cluster, trial = spec.resources.cluster, spec.resources.per_trial
        assert trial.cpu > -(-cluster.cpus_per_worker // 1) or trial.gpu > cluster.gpus_per_worker
        assert "no trial could start" in str(refused)
        return
    directives = [line.removeprefix("#SBATCH --").partition("=")
                  for line in script.splitlines() if line.startswith("#SBATCH ")]
    for name, _, value in directives:
        assert re.fullmatch(DIRECTIVES[name], value), (name, value)
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    if sbatch_answers() and not spec.resources.cluster.gpus_per_worker:
        path = WORKDIR / "campaign.sbatch"
        path.write_text(script)
        # The test cluster's size is not the campaign's: its sizing is checked above.
        done = subprocess.run(["sbatch", "--test-only", "--nodes=1", "--cpus-per-task=1",
                               str(path)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def rayjob_crd(kuberay_crd: dict[str, Any]) -> jsonschema.Draft4Validator:
    return rayjob_validator(kuberay_crd)


@PROPERTY
@given(doc=manifest())
def test_every_accepted_manifest_renders_objects_and_a_script_the_backends_accept(
        doc: dict[str, Any], rayjob_crd: jsonschema.Draft4Validator) -> None:
    try:
        campaign = parse_campaign(doc)
    except ManifestError:
        assume(False)  # the property is about accepted manifests; few are refused
        return
    _check_kubernetes(campaign, doc, rayjob_crd)
    _check_slurm(campaign)


def test_the_checks_are_not_vacuous(rayjob_crd: jsonschema.Draft4Validator) -> None:
    """Each check refuses what the bugs of the review produced."""
    from .conftest import campaign_doc

    campaign = parse_campaign(campaign_doc(storage={"path": "/mnt/x", "volumeClaim": "c"}))
    manifest_cm, *_, job = build_objects(campaign, ClusterDefaults(), token="t")
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    head["containers"][0]["volumeMounts"][1]["mountPath"] = "/etc/hpo"  # two mounts at one path
    head["tolerations"] = [{"key": "k", "operator": "Exists", "value": "v"}]
    job["spec"]["activeDeadlineSeconds"] = 2**31
    assert len(_rayjob_problems(job)) == 3
    head["tolerations"] = [{"key": "k", "operator": "Exists", "tolerationSeconds": "60"}]
    assert not rayjob_crd.is_valid(job)
    manifest_cm["data"]["campaign.yaml"] = 1
    assert _kubernetes_errors(manifest_cm) != []
    assert _crd_problems(campaign_doc(budget={"trials": 10**6})) != []
    assert _crd_problems(campaign_doc("n" * 43)) != []  # a CEL rule
