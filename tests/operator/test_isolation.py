"""What keeps one campaign from reaching another: its Ray token and its NetworkPolicy, as built."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.controller.settings import ConfigurationError, OperatorSettings
from hpo_operator.kuberay import names
from hpo_operator.kuberay.rayjob import ClusterDefaults
from hpo_operator.kuberay.render import build_objects, render_yaml
from hpo_operator.kuberay.security import TOKEN_PLACEHOLDER, new_token

from .conftest import campaign_doc

TOKEN = "tok-" + "x" * 40
WORKERS = {"cluster": {"workers": 2, "cpusPerWorker": 2}, "perTrial": {"cpu": 1}}


def objects(defaults: ClusterDefaults | None = None, **spec: Any) -> dict[str, dict[str, Any]]:
    campaign = parse_campaign(campaign_doc("iso", resources=WORKERS, **spec))
    return {d["kind"]: d for d in build_objects(campaign, defaults, "uid-1", token=TOKEN)}


def containers(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cluster = job["spec"]["rayClusterSpec"]
    pods = {"head": cluster["headGroupSpec"]["template"]["spec"],
            "submitter": job["spec"]["submitterPodTemplate"]["spec"]}
    pods.update({g["groupName"]: g["template"]["spec"] for g in cluster["workerGroupSpecs"]})
    return {name: pod["containers"][0] for name, pod in pods.items()}


def test_the_token_lives_in_an_owned_secret_only() -> None:
    built = objects()
    secret = built["Secret"]
    assert secret["metadata"]["name"] == "iso-ray-token"
    assert [ref["uid"] for ref in secret["metadata"]["ownerReferences"]] == ["uid-1"]
    assert secret["stringData"] == {names.TOKEN_KEY: TOKEN} and secret["immutable"] is True
    others = [d for kind, d in built.items() if kind != "Secret"]
    assert TOKEN not in json.dumps(others)  # not in the RayJob, not in any ConfigMap


def test_every_ray_process_requires_and_presents_the_token() -> None:
    job = objects()["RayJob"]
    expected = [{"name": "RAY_AUTH_MODE", "value": "token"},
                {"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {
                    "name": "iso-ray-token", "key": "auth_token"}}}]
    assert {name: c["env"] for name, c in containers(job).items()} == {
        "head": expected, "workers": expected, "submitter": expected}
    # KubeRay presents the same token on its own calls to the dashboard.
    assert job["spec"]["rayClusterSpec"]["authOptions"] == {"mode": "token",
                                                            "secretName": "iso-ray-token"}


def test_new_tokens_are_random_and_long() -> None:
    tokens = {new_token() for _ in range(20)}
    assert len(tokens) == 20 and min(len(t) for t in tokens) >= 43  # 32 random bytes


def test_the_network_policy_admits_the_campaign_and_kuberay_only() -> None:
    policy = objects()["NetworkPolicy"]
    own = {"matchLabels": {names.CAMPAIGN_LABEL: "iso"}}
    assert policy["metadata"]["name"] == "iso-ray"
    assert [ref["uid"] for ref in policy["metadata"]["ownerReferences"]] == ["uid-1"]
    spec = policy["spec"]
    assert spec["podSelector"] == own and spec["policyTypes"] == ["Ingress"]
    campaign_rule, kuberay_rule = spec["ingress"]
    assert campaign_rule == {"from": [{"podSelector": own}]}  # every Ray port, own pods only
    assert kuberay_rule == {
        "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "kuberay-operator"}},
                  "namespaceSelector": {}}],
        "ports": [{"protocol": "TCP", "port": 8265}]}


def test_the_policy_selects_every_pod_of_the_campaign() -> None:
    """Head, workers and the submitter carry the campaign label the policy selects on."""
    built = objects()
    selector = built["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    job = built["RayJob"]["spec"]
    templates = [job["rayClusterSpec"]["headGroupSpec"]["template"],
                 *[g["template"] for g in job["rayClusterSpec"]["workerGroupSpecs"]],
                 job["submitterPodTemplate"]]
    for template in templates:
        assert selector.items() <= template["metadata"]["labels"].items()


def test_the_kuberay_operator_can_be_narrowed_to_its_namespace() -> None:
    defaults = ClusterDefaults(kuberay_namespace="ray-system",
                               kuberay_pod_labels=("app=kuberay", "tier=control"))
    [peer] = objects(defaults)["NetworkPolicy"]["spec"]["ingress"][1]["from"]
    assert peer == {"podSelector": {"matchLabels": {"app": "kuberay", "tier": "control"}},
                    "namespaceSelector": {"matchLabels": {
                        "kubernetes.io/metadata.name": "ray-system"}}}


@pytest.mark.parametrize("env", [
    {"HPO_KUBERAY_POD_LABELS": "app.kubernetes.io/name"},
    {"HPO_KUBERAY_POD_LABELS": ",", "HPO_KUBERAY_NAMESPACE": ""},
], ids=["not-key-value", "nothing-to-select"])
def test_settings_that_would_open_the_dashboard_are_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="HPO_KUBERAY"):
        OperatorSettings.from_env(env)


def test_render_shows_a_placeholder_and_says_so() -> None:
    text = render_yaml(parse_campaign(campaign_doc("iso")))
    header = " ".join(line for line in text.splitlines() if line.startswith("#"))
    assert f"Secret iso-ray-token holds a placeholder, {TOKEN_PLACEHOLDER}" in header
    assert "random Ray token" in header
    [secret] = [d for d in yaml.safe_load_all(text) if d and d["kind"] == "Secret"]
    assert secret["stringData"] == {names.TOKEN_KEY: TOKEN_PLACEHOLDER}
