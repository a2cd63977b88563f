"""How the KubeRay stand-in turns a RayJob's pod templates into containers (no engine needed):
the RayJob is the operator's own, for a GPU campaign under the restricted Pod Security Standard."""

from __future__ import annotations

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.kuberay.rayjob import ClusterDefaults, build_rayjob

from tests.operator.conftest import campaign_doc
from tests.support.kuberay_pods import _limits, _security, _start_params, cpus, memory_bytes


def rayjob(run_as_user: int | None = 2000) -> dict:
    campaign = parse_campaign(campaign_doc("gpu", resources={
        "perTrial": {"cpu": 1, "gpu": 1},
        "cluster": {"workers": 2, "cpusPerWorker": 7.5, "memoryPerWorker": "30Gi",
                    "gpusPerWorker": 4, "headCpus": 0.5, "headMemory": "1536Mi"}}))
    return build_rayjob(campaign, ClusterDefaults(run_as_user=run_as_user))


def groups(job: dict) -> tuple[dict, dict]:
    spec = job["spec"]["rayClusterSpec"]
    return spec["headGroupSpec"], spec["workerGroupSpecs"][0]


def test_quantities() -> None:
    assert [cpus(q) for q in ("1", "500m", "7.5", "2000m")] == ["1", "0.5", "7.5", "2"]
    assert memory_bytes("30Gi") == 30 * 2**30 and memory_bytes("1536Mi") == 1536 * 2**20
    assert memory_bytes("1G") == 10**9 and memory_bytes("1000") == 1000


def test_the_security_context_becomes_user_capabilities_and_no_new_privileges() -> None:
    for group in groups(rayjob()):
        spec = group["template"]["spec"]
        args = _security(spec, spec["containers"][0])
        assert args == ["--user", "2000", "--cap-drop=ALL", "--security-opt=no-new-privileges"]
    head, _ = groups(rayjob(run_as_user=None))
    spec = head["template"]["spec"]
    assert _security(spec, spec["containers"][0]) == []  # as the image makes it


def test_limits_and_start_parameters_as_kuberay_derives_them() -> None:
    head, worker = groups(rayjob())
    head_container = head["template"]["spec"]["containers"][0]
    worker_container = worker["template"]["spec"]["containers"][0]
    assert _limits(head_container) == ["--cpus", "0.5", "--memory", str(1536 * 2**20)]
    assert _limits(worker_container) == ["--cpus", "7.5", "--memory", str(30 * 2**30)]
    head_flags = _start_params(head["rayStartParams"], head_container)
    assert "--num-cpus=0" in head_flags  # the parameters win over the limits
    assert "--dashboard-host=0.0.0.0" in head_flags
    worker_flags = _start_params(worker["rayStartParams"], worker_container)
    # KubeRay rounds a fractional cpu limit up (Quantity.Value()), and reads GPUs from the limits
    assert {"--num-cpus=8", "--num-gpus=4", f"--memory={30 * 2**30}"} <= set(worker_flags)
