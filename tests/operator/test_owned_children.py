"""Provisioning and deletion through the real :mod:`hpo_operator.kube` against the Kubernetes
emulator: a campaign creates and deletes its own children only. An object that merely has a
child's name (unowned, or another campaign's) stops provisioning with a condition naming it, and
survives the campaign's deletion."""

from __future__ import annotations

import logging
from typing import Any

import kopf
import pytest
import yaml
from hpo_operator import kube
from hpo_operator.controller import campaigns
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names
from kubernetes import client

from tests.support.cluster import EmulatedCluster

from .conftest import campaign_doc

NS = "default"
LOG = logging.getLogger("test")
pytestmark = pytest.mark.k8s


def applied(cluster: EmulatedCluster, name: str) -> dict[str, Any]:
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(campaign_doc(name)))
    body = kube.get_campaign(NS, name)
    assert body is not None
    return body


def present(kind: str, name: str) -> dict[str, Any] | None:
    return kube.get_metadata(kind, NS, name)


def owners(kind: str, name: str) -> list[str]:
    meta = (present(kind, name) or {}).get("metadata") or {}
    return [ref["uid"] for ref in meta.get("ownerReferences") or []]


def foreign_configmap(name: str, owner_uid: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if owner_uid:
        meta["ownerReferences"] = [names.owner_reference("someone-else", owner_uid)]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"mine": "yes"}}


def test_every_child_is_created_owned_and_deleted_with_the_campaign(
        cluster: EmulatedCluster, api: client.ApiClient) -> None:
    body = applied(cluster, "owned")
    uid = body["metadata"]["uid"]
    campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
    children = names.children("owned")
    assert {child: owners(*child) for child in children} == {child: [uid] for child in children}
    campaigns.cleanup(NS, "owned", uid, Metrics(), LOG)
    assert [child for child in children if present(*child)] == []


@pytest.mark.parametrize("owner", [None, "uid-of-another"], ids=["unowned", "another-owner"])
def test_an_object_with_a_childs_name_blocks_provisioning_and_survives_deletion(
        cluster: EmulatedCluster, api: client.ApiClient, owner: str | None) -> None:
    name = f"clash-{'a' if owner else 'u'}"
    progress = names.progress_configmap_name(name)
    kube.create_if_absent(foreign_configmap(progress, owner))
    body = applied(cluster, name)
    uid = body["metadata"]["uid"]
    with pytest.raises(kopf.TemporaryError):
        campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
    status = (kube.get_campaign(NS, name) or {}).get("status") or {}
    [condition] = [c for c in status["conditions"] if c["type"] == "Provisioned"]
    assert condition["status"] == "False" and condition["reason"] == "ChildOfAnotherCampaign"
    assert f"ConfigMap {progress} exists but is not this campaign's" in condition["message"]
    manifest = names.manifest_configmap_name(name)
    assert owners("ConfigMap", manifest) == [uid]  # created before the clash

    campaigns.cleanup(NS, name, uid, Metrics(), LOG)
    assert present("ConfigMap", manifest) is None
    survivor = kube.get_configmap(NS, progress)
    assert survivor is not None and survivor["data"] == {"mine": "yes"}
    assert owners("ConfigMap", progress) == ([owner] if owner else [])
    kube.delete_configmap(NS, progress)


def test_a_child_replaced_by_another_object_survives_the_deletion(
        cluster: EmulatedCluster, api: client.ApiClient) -> None:
    body = applied(cluster, "replaced")
    uid = body["metadata"]["uid"]
    campaigns.provision(body, OperatorSettings(), Metrics(), LOG)
    manifest = names.manifest_configmap_name("replaced")
    kube.delete_configmap(NS, manifest)
    kube.create_if_absent(foreign_configmap(manifest))
    campaigns.cleanup(NS, "replaced", uid, Metrics(), LOG)
    assert present("ConfigMap", manifest) is not None
    assert [child for child in names.children("replaced")
            if child != ("ConfigMap", manifest) and present(*child)] == []
    kube.delete_configmap(NS, manifest)
