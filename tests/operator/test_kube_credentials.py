"""Kubernetes credentials load in one place, kube.load_credentials, which says why when they don't."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from hpo_operator import kube

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://203.0.113.7:6443"}
users:
- name: u
  user: {token: t0ken}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""


@pytest.fixture
def outside_a_cluster(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No in-cluster service account, and the client's default configuration restored after."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    monkeypatch.setattr(client.Configuration, "_default", client.Configuration._default)
    return monkeypatch


def test_a_kubeconfig_loads_and_says_so(outside_a_cluster, tmp_path: Path):
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    outside_a_cluster.setenv("KUBECONFIG", str(path))
    assert kube.load_credentials() == f"kubeconfig {path}"
    assert client.Configuration.get_default_copy().host == "https://203.0.113.7:6443"


def test_no_credentials_say_why_in_one_line(outside_a_cluster, tmp_path: Path):
    missing = tmp_path / "missing"
    outside_a_cluster.setenv("KUBECONFIG", str(missing))
    with pytest.raises(kube.CredentialsError) as raised:
        kube.load_credentials()
    assert str(raised.value) == (f"not in a cluster: Service host/port is not set; no kubeconfig "
                                 f"at {missing}")
    assert isinstance(raised.value, kube.KubeError) and raised.value.status == 0


@pytest.mark.parametrize(("content", "problem"), [
    ("apiVersion: v1\nkind: Config\n", "Invalid kube-config file"),
    ("clusters: [unclosed\n", "not valid YAML"),
])
def test_an_unusable_kubeconfig_is_named(outside_a_cluster, tmp_path: Path, content, problem):
    path = tmp_path / "config"
    path.write_text(content)
    outside_a_cluster.setenv("KUBECONFIG", str(path))
    with pytest.raises(kube.CredentialsError, match=f"; kubeconfig {path}: {problem}"):
        kube.load_credentials()


def test_the_client_loads_its_credentials_there(outside_a_cluster, tmp_path: Path):
    outside_a_cluster.setenv("KUBECONFIG", str(tmp_path / "missing"))
    kube._api.cache_clear()
    try:
        with pytest.raises(kube.CredentialsError, match="no kubeconfig at"):
            kube._api()
    finally:
        kube._api.cache_clear()
