"""The Helm chart, with a real helm binary: lint, render, and validate every rendered object."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names
from hpo_operator.kuberay.render import build_objects

from .conftest import CRD_FILE, campaign_doc

ROOT = CRD_FILE.parents[1]
CHART = ROOT / "charts/hpo-operator"
KUBE_VERSION = "1.30.0"
VALUES = {
    "default": [],
    "namespaced": ["--set", "rbac.scope=namespaced", "--set", "watchNamespaces={team-a,team-b}"],
    "monitoring": ["--set", "metrics.serviceMonitor.enabled=true",
                   "--set", "campaigns.experimentCheckpointSeconds=30",
                   "--set", "campaigns.runAsUser=1000"],
}


def helm_run(helm: Path, *args: str) -> str:
    done = subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def render(helm: Path, variant: str) -> list[dict[str, Any]]:
    out = helm_run(helm, "template", "hpo", str(CHART), "--namespace", "hpo-system",
                   "--include-crds", *VALUES[variant])
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("variant", sorted(VALUES))
def test_helm_lint(helm: Path, variant: str) -> None:
    assert "0 chart(s) failed" in helm_run(helm, "lint", "--strict", str(CHART), *VALUES[variant])


@pytest.mark.parametrize("variant", sorted(VALUES))
def test_rendered_objects_validate(helm: Path, variant: str) -> None:
    docs = render(helm, variant)
    for doc in docs:
        if doc["kind"] == "CustomResourceDefinition":
            assert doc == yaml.safe_load(CRD_FILE.read_text())
        elif doc["kind"] == "ServiceMonitor":
            assert doc["spec"]["endpoints"][0]["port"] == "metrics"
        else:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    kinds = [d["kind"] for d in docs]
    assert {"Deployment", "ServiceAccount", "Service", "CustomResourceDefinition"} <= set(kinds)
    assert ("ServiceMonitor" in kinds) == (variant == "monitoring")


def test_validation_is_not_vacuous() -> None:
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"replicas": "one", "selector": {}, "template": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBE_VERSION, strict=True)


def test_pod_runs_restricted(helm: Path) -> None:
    [deploy] = [d for d in render(helm, "default") if d["kind"] == "Deployment"]
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["args"][0] == "operator"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert "HPO_NAMESPACES" not in env and env["HPO_METRICS_PORT"] == "9090"


def _rules(docs: list[dict[str, Any]], kind: str) -> set[tuple[str, str, str]]:
    return {(group, resource, verb)
            for d in docs if d["kind"] == kind and not d["metadata"]["name"].endswith("-crds")
            for rule in d["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def test_rbac_grants_only_what_the_operator_uses(helm: Path) -> None:
    rules = _rules(render(helm, "default"), "ClusterRole")
    assert ("ray.io", "rayjobs", "create") in rules
    assert ("hpo.dev", "hpocampaigns/status", "patch") in rules
    # Owner references with blockOwnerDeletion, under OwnerReferencesPermissionEnforcement.
    assert ("hpo.dev", "hpocampaigns/finalizers", "update") in rules
    updates = {resource for _, resource, verb in rules if verb == "update"}
    assert updates == {"hpocampaigns/finalizers"}
    assert not any(verb in ("*", "deletecollection") for _, _, verb in rules)
    assert not any(resource in ("pods", "*") for _, resource, _ in rules)
    assert ("hpo.dev", "hpocampaigns", "create") not in rules  # users create campaigns
    # Each kind the operator creates for a campaign: created if absent, read to tell whose an
    # existing one is, deleted when the campaign owns it; nothing more on the new kinds.
    for kind, group, resource in _CHILD_RESOURCES:
        assert {(group, resource, verb) for verb in ("get", "create", "delete")} <= rules, kind
    for group, resource in [("", "serviceaccounts"), ("rbac.authorization.k8s.io", "roles"),
                            ("rbac.authorization.k8s.io", "rolebindings"), ("", "secrets"),
                            ("networking.k8s.io", "networkpolicies")]:
        assert {verb for g, r, verb in rules if (g, r) == (group, resource)} == {
            "get", "create", "delete"}


_CHILD_RESOURCES = [("ConfigMap", "", "configmaps"), ("Secret", "", "secrets"),
                    ("NetworkPolicy", "networking.k8s.io", "networkpolicies"),
                    ("ServiceAccount", "", "serviceaccounts"),
                    ("Role", "rbac.authorization.k8s.io", "roles"),
                    ("RoleBinding", "rbac.authorization.k8s.io", "rolebindings"),
                    ("RayJob", "ray.io", "rayjobs")]


def test_the_rules_cover_every_kind_of_child() -> None:
    kinds = {kind for kind, _ in names.children("toy")}
    assert kinds == {kind for kind, _, _ in _CHILD_RESOURCES}


def test_the_operator_holds_every_right_it_grants_a_driver(helm: Path) -> None:
    """Kubernetes refuses to create a Role (or bind one) granting verbs its creator lacks, unless
    the creator may escalate or bind: the operator holds the driver's verbs instead, in each
    scope, and neither of those."""
    campaign = parse_campaign(campaign_doc("toy"))
    [driver_role] = [o for o in build_objects(campaign, token="t") if o["kind"] == "Role"]
    granted = {(group, resource, verb) for rule in driver_role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]
               for verb in rule["verbs"]}
    assert granted == {("", "configmaps", "get"), ("", "configmaps", "patch")}
    for variant, kind in (("default", "ClusterRole"), ("namespaced", "Role")):
        rules = _rules(render(helm, variant), kind)
        assert granted <= rules, variant
        assert not any(verb in ("escalate", "bind", "impersonate") for _, _, verb in rules)


def test_no_account_is_shared_between_campaigns(helm: Path) -> None:
    """The operator creates each campaign's driver account; the chart ships none of its own."""
    for variant in sorted(VALUES):
        docs = render(helm, variant)
        accounts = [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"]
        assert accounts == ["hpo-hpo-operator"], variant
        roles = [d["metadata"]["name"] for d in docs if d["kind"] in ("Role", "RoleBinding")]
        assert set(roles) <= {"hpo-hpo-operator"}, variant


def test_namespaced_mode_uses_roles(helm: Path) -> None:
    docs = render(helm, "namespaced")
    roles = [d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == "hpo-hpo-operator"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert all({"apiGroups": ["hpo.dev"], "resources": ["hpocampaigns/finalizers"],
                "verbs": ["update"]} in r["rules"] for r in roles)
    cluster_rules = {(r["metadata"]["name"], res) for r in docs if r["kind"] == "ClusterRole"
                     for rule in r["rules"] for res in rule["resources"]}
    assert cluster_rules == {("hpo-hpo-operator-crds", "customresourcedefinitions")}
    [deploy] = [d for d in docs if d["kind"] == "Deployment"]
    env = {e["name"]: e["value"] for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HPO_NAMESPACES"] == "team-a,team-b"


def test_every_value_is_documented() -> None:
    """helm-docs style: each leaf value, or a map it belongs to, has a ``# --`` comment."""
    undocumented, stack = [], []  # stack: (indent, documented) of the enclosing keys
    comment = False
    for line in (CHART / "values.yaml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = True
        if not stripped or stripped.startswith("#") or stripped.startswith("-"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key, _, value = stripped.partition(":")
        documented = comment or any(doc for _, doc in stack)
        if value.strip() and not documented:
            undocumented.append(key)
        stack.append((indent, documented))
        comment = False
    assert undocumented == []


def test_notes_tell_how_to_submit_a_campaign(helm: Path) -> None:
    out = subprocess.run([str(helm), "install", "hpo", str(CHART), "--dry-run=client",
                          "--namespace", "hpo-system"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "kubectl apply" in out.stdout and "kubectl get hpoc" in out.stdout


def test_restricted_ray_pods_reach_the_operator(helm: Path) -> None:
    def env(variant: str) -> dict[str, str]:
        [deploy] = [d for d in render(helm, variant) if d["kind"] == "Deployment"]
        [container] = deploy["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e["value"] for e in container["env"]}

    assert env("default")["HPO_RUN_AS_USER"] == ""
    settings = OperatorSettings.from_env(env("monitoring"))
    assert settings.cluster_defaults().run_as_user == 1000


def test_the_kuberay_operator_is_named_to_each_campaigns_network_policy(helm: Path) -> None:
    def settings(*values: str) -> OperatorSettings:
        out = helm_run(helm, "template", "hpo", str(CHART), "--namespace", "hpo-system", *values)
        [deploy] = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment"]
        [container] = deploy["spec"]["template"]["spec"]["containers"]
        return OperatorSettings.from_env({e["name"]: e["value"] for e in container["env"]})

    default = settings().cluster_defaults()
    assert default.kuberay_namespace == ""
    assert default.kuberay_pod_labels == ("app.kubernetes.io/name=kuberay-operator",)
    narrowed = settings("--set", "campaigns.kuberayOperator.namespace=ray-system",
                        "--set", "campaigns.kuberayOperator.podLabels.team=ml").cluster_defaults()
    assert narrowed.kuberay_namespace == "ray-system"
    assert narrowed.kuberay_pod_labels == ("app.kubernetes.io/name=kuberay-operator", "team=ml")
