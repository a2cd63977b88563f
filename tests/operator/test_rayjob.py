"""The RayJob builder: checked against KubeRay's real CRD schema and for what the operator relies on."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from hpo_operator.campaign.manifest import ManifestError, parse_campaign
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names
from hpo_operator.kuberay.rayjob import ClusterDefaults, build_rayjob
from hpo_operator.kuberay.render import build_objects, render_yaml
from hpo_operator.kuberay.sizing import sizing_problems

from tests.support.campaigns import replace

from .conftest import campaign_doc

KUBE_VERSION = "1.30.0"

GPU_CLUSTER = {"cluster": {"image": "registry.example/trainer:1", "workers": 3, "gpusPerWorker": 4,
                           "cpusPerWorker": 7.5, "memoryPerWorker": "30Gi",
                           "nodeSelector": {"gpu": "a100"},
                           "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                            "effect": "NoSchedule"}]},
               "perTrial": {"cpu": 2, "gpu": 1}}

BUNDLE_CLUSTER = {"cluster": {"workers": 2, "cpusPerWorker": 4, "gpusPerWorker": 1,
                               "memoryPerWorker": "16Gi",
                               "customPerWorker": {"accel_v5": 2, "licence.seat": 1}},
                  "perTrial": {"bundles": [{"cpu": 1, "memory": "2Gi"},
                                           {"cpu": 2, "gpu": 1, "custom": {"accel_v5": 1}}],
                               "placementStrategy": "STRICT_SPREAD"}}

CAMPAIGNS = {
    "head-only": campaign_doc("head-only"),
    "bundles": campaign_doc("bundles", resources=BUNDLE_CLUSTER),
    "tracked": campaign_doc("tracked", tracking={
        "mlflow": {"trackingUri": "https://mlflow.example", "tokenSecret": {
            "name": "hpo-tracking-mlflow", "key": "token"}},
        "wandb": {"project": "hpo", "apiKeySecret": {"name": "hpo-tracking-wandb",
                                                      "key": "api-key"}}}),
    "head-custom": campaign_doc("head-custom", resources={
        "cluster": {"workers": 0, "customPerWorker": {"accel_v5": 1}},
        "perTrial": {"cpu": 1, "memory": "1Gi", "custom": {"accel_v5": 1}}}),
    "gpu-workers": campaign_doc("gpu-workers", resources=GPU_CLUSTER,
                                budget=replace({"trials": 64, "timeLimit": "8h"}),
                                storage={"path": "/mnt/hpo", "volumeClaim": "hpo-runs"}),
    "longest-name": campaign_doc("n" * 42, storage={"path": "/scratch/hpo"},
                                 budget=replace({"trials": 8, "timeLimit": 600})),
}


def test_rayjob_names_pass_kuberay_metadata_rules() -> None:
    """KubeRay rejects a RayJob named other than a DNS-1035 label of at most 47 characters."""
    job = build_rayjob(parse_campaign(CAMPAIGNS["longest-name"]), ClusterDefaults())
    name = job["metadata"]["name"]
    assert len(name) == 47 and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name)


def rayjob_validator(kuberay_crd: dict[str, Any]) -> jsonschema.Draft4Validator:
    version = next(v for v in kuberay_crd["spec"]["versions"] if v["name"] == "v1")
    return jsonschema.Draft4Validator(version["schema"]["openAPIV3Schema"])


@pytest.mark.parametrize("restricted", [False, True], ids=["plain", "restricted"])
@pytest.mark.parametrize("key", sorted(CAMPAIGNS))
def test_rayjob_validates_against_kuberay_crd(key: str, restricted: bool,
                                              kuberay_crd: dict[str, Any]) -> None:
    defaults = ClusterDefaults(run_as_user=1000 if restricted else None)
    job = build_rayjob(parse_campaign(CAMPAIGNS[key]), defaults, owner_uid="u-1")
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}"
              for e in rayjob_validator(kuberay_crd).iter_errors(job)]
    assert errors == []


def test_a_schema_violation_is_caught(kuberay_crd: dict[str, Any]) -> None:
    """The validator is not vacuous: a wrong type in the RayJob fails it."""
    job = build_rayjob(parse_campaign(CAMPAIGNS["head-only"]), ClusterDefaults())
    job["spec"]["backoffLimit"] = "two"
    assert not rayjob_validator(kuberay_crd).is_valid(job)


def test_gpu_workers_are_sized_from_the_spec() -> None:
    job = build_rayjob(parse_campaign(CAMPAIGNS["gpu-workers"]), ClusterDefaults())
    cluster = job["spec"]["rayClusterSpec"]
    [group] = cluster["workerGroupSpecs"]
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 3
    pod = group["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "registry.example/trainer:1"
    assert container["resources"]["limits"] == {"cpu": "7500m", "memory": "30Gi",
                                                "nvidia.com/gpu": "4"}
    assert pod["nodeSelector"] == {"gpu": "a100"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert "nodeSelector" not in cluster["headGroupSpec"]["template"]["spec"]
    # The PVC holds the experiment on head and workers, at the storage path.
    for spec in (pod, cluster["headGroupSpec"]["template"]["spec"]):
        assert {"name": "experiment-storage",
                "persistentVolumeClaim": {"claimName": "hpo-runs"}} in spec["volumes"]
        assert {"name": "experiment-storage", "mountPath": "/mnt/hpo"} in \
            spec["containers"][0]["volumeMounts"]


def test_head_only_cluster_runs_trials_on_the_head() -> None:
    job = build_rayjob(parse_campaign(CAMPAIGNS["head-only"]), ClusterDefaults(image="img:2"))
    cluster = job["spec"]["rayClusterSpec"]
    assert cluster["workerGroupSpecs"] == []
    assert "num-cpus" not in cluster["headGroupSpec"]["rayStartParams"]
    assert cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] == "img:2"


def test_entrypoint_deadlines_and_ownership() -> None:
    campaign = parse_campaign(CAMPAIGNS["gpu-workers"])
    job = build_rayjob(campaign, ClusterDefaults(deadline_margin_seconds=100, backoff_limit=4),
                       owner_uid="uid-9")
    spec = job["spec"]
    assert shlex.split(spec["entrypoint"]) == [
        "hpo", "run", "/etc/hpo/campaign.yaml", "--storage", "/mnt/hpo",
        "--progress-configmap", "default/gpu-workers-progress", "--address", "auto",
        "--retry-only-on-crash", "--wait-for-nodes", "4", "--instance", "uid-9"]
    assert spec["activeDeadlineSeconds"] == 8 * 3600 + 100
    assert spec["backoffLimit"] == 4 and spec["shutdownAfterJobFinishes"] is True
    meta = job["metadata"]
    assert meta["name"] == "gpu-workers-tune"
    assert meta["labels"][names.CAMPAIGN_LABEL] == "gpu-workers"
    assert meta["ownerReferences"] == [{
        "apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign", "name": "gpu-workers",
        "uid": "uid-9", "controller": True, "blockOwnerDeletion": True}]
    # Deterministic: the same campaign gives the same object (create-if-absent relies on it).
    assert build_rayjob(campaign, ClusterDefaults(deadline_margin_seconds=100, backoff_limit=4),
                        owner_uid="uid-9") == job


def test_no_deadline_without_a_time_limit_and_checkpoint_period_in_runtime_env() -> None:
    job = build_rayjob(parse_campaign(CAMPAIGNS["head-only"]),
                       ClusterDefaults(experiment_checkpoint_seconds=1.5))
    assert "activeDeadlineSeconds" not in job["spec"]
    assert "--wait-for-nodes" not in job["spec"]["entrypoint"]  # the head is the whole cluster
    env = yaml.safe_load(job["spec"]["runtimeEnvYAML"])["env_vars"]
    assert env == {"TUNE_GLOBAL_CHECKPOINT_S": "1.5", "HPO_IMAGE": ClusterDefaults().image}


def test_manifest_configmap_round_trips_to_the_same_campaign() -> None:
    campaign = parse_campaign(CAMPAIGNS["gpu-workers"])
    manifest, progress, *_, job = build_objects(campaign, owner_uid="u", token="t")
    mounted = yaml.safe_load(manifest["data"][names.MANIFEST_KEY])
    assert parse_campaign(mounted) == campaign
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert {"name": "campaign-manifest",
            "configMap": {"name": manifest["metadata"]["name"]}} in head["volumes"]
    assert progress["metadata"]["labels"][names.COMPONENT_LABEL] == "progress"


def test_render_yaml_prints_every_object() -> None:
    docs = [d for d in yaml.safe_load_all(render_yaml(parse_campaign(CAMPAIGNS["head-only"]))) if d]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ConfigMap", "head-only-manifest"), ("ConfigMap", "head-only-progress"),
        ("Secret", "head-only-ray-token"), ("ServiceAccount", "head-only-driver"),
        ("Role", "head-only-driver"), ("RoleBinding", "head-only-driver"),
        ("NetworkPolicy", "head-only-ray"), ("RayJob", "head-only-tune")]
    assert all("ownerReferences" not in d["metadata"] for d in docs)


@pytest.mark.parametrize("key", sorted(CAMPAIGNS))
def test_core_objects_validate_against_kubernetes_schemas(key: str) -> None:
    core = [d for d in build_objects(parse_campaign(CAMPAIGNS[key]), owner_uid="u-1", token="t")
            if d["kind"] != names.RAYJOB_KIND]
    assert core
    for doc in core:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_each_driver_runs_as_an_account_limited_to_its_progress_configmap() -> None:
    campaign = parse_campaign(CAMPAIGNS["gpu-workers"])
    objects = {d["kind"]: d for d in build_objects(campaign, ClusterDefaults(run_as_user=1000),
                                                   owner_uid="u-1", token="t")}
    account, role, binding = objects["ServiceAccount"], objects["Role"], objects["RoleBinding"]
    assert account["metadata"]["name"] == role["metadata"]["name"] == "gpu-workers-driver"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["gpu-workers-progress"], "verbs": ["get", "patch"]}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "gpu-workers-driver"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "gpu-workers-driver",
                                    "namespace": "default"}]
    for obj in (account, role, binding):
        assert [ref["uid"] for ref in obj["metadata"]["ownerReferences"]] == ["u-1"]
    pods = _pods(objects["RayJob"])
    assert pods["head"]["serviceAccountName"] == "gpu-workers-driver"
    # Only the head, where the driver runs, mounts a token; trials and the submitter need none.
    assert {name: pod["automountServiceAccountToken"] for name, pod in pods.items()} == {
        "head": True, "gpu-workers": False, "submitter": False}
    assert all("serviceAccountName" not in pod for name, pod in pods.items() if name != "head")


@pytest.mark.parametrize("key", sorted(CAMPAIGNS))
def test_the_objects_built_are_the_children_deleted(key: str) -> None:
    """Deletion goes by names.children: it must list every object the operator creates."""
    campaign = parse_campaign(CAMPAIGNS[key])
    built = [(d["kind"], d["metadata"]["name"]) for d in build_objects(campaign, owner_uid="u", token="t")]
    assert built == names.children(campaign.metadata.name)


def _pods(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cluster = job["spec"]["rayClusterSpec"]
    pods = {"head": cluster["headGroupSpec"]["template"]["spec"]}
    pods.update({g["groupName"]: g["template"]["spec"] for g in cluster["workerGroupSpecs"]})
    if "submitterPodTemplate" in job["spec"]:
        pods["submitter"] = job["spec"]["submitterPodTemplate"]["spec"]
    return pods


def _restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What the 'restricted' Pod Security Standard checks of the fields we set."""
    context = pod.get("securityContext", {})
    found = []
    if context.get("runAsNonRoot") is not True:
        found.append("runAsNonRoot")
    if context.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        found.append("seccompProfile")
    for c in pod["containers"]:
        c_context = c.get("securityContext", {})
        if c_context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{c['name']}: allowPrivilegeEscalation")
        if "ALL" not in c_context.get("capabilities", {}).get("drop", []):
            found.append(f"{c['name']}: capabilities")
    if any("hostPath" in v for v in pod.get("volumes", [])):
        found.append("hostPath")
    return found


def test_restricted_pods_on_request() -> None:
    campaign = parse_campaign(CAMPAIGNS["gpu-workers"])
    plain = build_rayjob(campaign, ClusterDefaults())
    assert all(_restricted_violations(pod) for pod in _pods(plain).values())

    job = build_rayjob(campaign, ClusterDefaults(run_as_user=1000))
    pods = _pods(job)
    assert set(pods) == {"head", "gpu-workers", "submitter"}
    assert {name: _restricted_violations(pod) for name, pod in pods.items()} == {
        name: [] for name in pods}
    assert all(pod["securityContext"]["runAsUser"] == 1000 for pod in pods.values())
    # KubeRay fills in the submit command only when the submitter container has none.
    [submitter] = pods["submitter"]["containers"]
    assert "command" not in submitter and submitter["image"] == "registry.example/trainer:1"
    assert pods["submitter"]["restartPolicy"] == "Never"


def started_with(param: str) -> dict[str, float]:
    """What ``ray start --resources=<param>`` receives once the shell KubeRay runs it through
    has removed the quoting."""
    [word] = shlex.split(f"--resources={param}")
    return json.loads(word.removeprefix("--resources="))


def test_workers_advertise_their_custom_resources_as_kuberay_expects() -> None:
    job = build_rayjob(parse_campaign(CAMPAIGNS["bundles"]), ClusterDefaults())
    [group] = job["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    param = group["rayStartParams"]["resources"]
    assert param == '"{\\"accel_v5\\": 2, \\"licence.seat\\": 1}"'
    assert started_with(param) == {"accel_v5": 2, "licence.seat": 1}
    assert group["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    # The head runs no trials: it advertises no custom resources either.
    assert "resources" not in job["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]


def test_a_head_only_cluster_advertises_them_on_the_head() -> None:
    job = build_rayjob(parse_campaign(CAMPAIGNS["head-custom"]), ClusterDefaults())
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]
    assert started_with(head["rayStartParams"]["resources"]) == {"accel_v5": 1}


def test_no_custom_resources_no_resources_param() -> None:
    job = build_rayjob(parse_campaign(CAMPAIGNS["gpu-workers"]), ClusterDefaults())
    assert job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["rayStartParams"] == {}


@pytest.mark.parametrize(("resources", "words"), [
    ({"cluster": {"workers": 2, "cpusPerWorker": 4}, "perTrial": {"cpu": 6}},
     "no node of the RayJob's cluster"),
    ({"cluster": {"workers": 2, "memoryPerWorker": "8Gi"}, "perTrial": {"memory": "12Gi"}},
     "12 GiB memory on one node"),
    ({"cluster": {"workers": 1}, "perTrial": {"custom": {"accel_v5": 1}}},
     "1 accel_v5 (spec.resources.perTrial) but the RayJob's cluster (spec.resources.cluster) has 0 in all"),
    ({"cluster": {"workers": 1, "cpusPerWorker": 8},
      "perTrial": {"bundles": [{"cpu": 1}, {"cpu": 1}], "placementStrategy": "STRICT_SPREAD"}},
     "STRICT_SPREAD"),
    ({"cluster": {"workers": 2, "cpusPerWorker": 4},
      "perTrial": {"bundles": [{"cpu": 3}, {"cpu": 3}], "placementStrategy": "STRICT_PACK"}},
     "STRICT_PACK"),
    ({"cluster": {"workers": 0, "headCpus": 2}, "perTrial": {"cpu": 3}}, "has 2 in all"),
])
def test_trials_no_pod_could_hold_are_refused_before_anything_is_made(resources, words):
    campaign = parse_campaign(campaign_doc("unfit", resources=resources))
    [problem] = sizing_problems(campaign)
    assert problem.path == "spec.resources.perTrial" and words in problem.message, problem
    with pytest.raises(ManifestError) as info:
        OperatorSettings().check_limits(campaign)
    assert [p.path for p in info.value.problems] == ["spec.resources.perTrial"]


@pytest.mark.parametrize("key", ["bundles", "head-custom", "gpu-workers", "head-only"])
def test_trials_that_fit_their_pods_pass(key: str) -> None:
    campaign = parse_campaign(CAMPAIGNS[key])
    assert sizing_problems(campaign) == []
    OperatorSettings().check_limits(campaign)


def test_tracker_credentials_reach_the_driver_from_their_secrets_only() -> None:
    campaign = parse_campaign(CAMPAIGNS["tracked"])
    job = build_rayjob(campaign, ClusterDefaults())
    cluster = job["spec"]["rayClusterSpec"]
    head_env = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "MLFLOW_TRACKING_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "hpo-tracking-mlflow", "key": "token"}}} in head_env
    assert {"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {
        "name": "hpo-tracking-wandb", "key": "api-key"}}} in head_env
    for group in cluster["workerGroupSpecs"]:  # trials log nothing themselves
        names_ = {e["name"] for e in group["template"]["spec"]["containers"][0]["env"]}
        assert not names_ & {"MLFLOW_TRACKING_TOKEN", "WANDB_API_KEY"}
    # The manifest the driver reads names the Secrets, never holds their values.
    text = build_objects(campaign, ClusterDefaults(), token="t")[0]["data"][names.MANIFEST_KEY]
    assert "hpo-tracking-wandb" in text and "valueFrom" not in text


def test_hpo_render_refuses_trials_no_pod_could_hold(tmp_path, capsys) -> None:
    from hpo_operator.cli import main

    from tests.support.campaigns import write

    doc = campaign_doc("unfit", resources={"cluster": {"workers": 1, "cpusPerWorker": 2},
                                           "perTrial": {"cpu": 3}})
    assert main(["render", str(write(tmp_path, doc))]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "hpo render: spec.resources.perTrial: each trial asks for 3 CPU" in captured.err
