"""Fixtures of the operator tests: example campaigns, the KubeRay CRDs, helm, the emulated cluster."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from hpo_operator import kube
from kubernetes import client, config

from tests.support import REPO
from tests.support.campaigns import campaign
from tests.support.cluster import EmulatedCluster, OperatorProcess
from tests.support.kuberay_standin import KubeRayStandIn, serving

SHARED = REPO.parent / "shared"
KUBERAY_CRDS = SHARED / "kuberay-crds"
CRD_FILE = REPO / "crds/hpocampaigns.hpo.dev.yaml"


# The operator's campaigns: in a namespace, with the KubeRay-facing sections filled in, one
# seeded trial at a time of the journaling Quadratic (the end-to-end tests read its journal).
OPERATOR_CAMPAIGN: dict[str, Any] = {
    "strategy": {"scheduler": {"type": "fifo"}, "searcher": {"type": "random", "seed": 3}},
    "budget": {"trials": 4, "maxConcurrentTrials": 1, "maxIterationsPerTrial": 3},
    "trainable": {"entrypoint": "tests.support.trainables:Quadratic"},
    "resources": {"perTrial": {"cpu": 1}, "cluster": {"workers": 0}},
    "runtime": {"reuseActors": False},
}


def campaign_doc(name: str = "toy", **spec: Any) -> dict[str, Any]:
    """A small valid campaign in namespace ``default``: :func:`~tests.support.campaigns.campaign`
    on the operator's base, ``spec`` merged in."""
    return campaign(name, OPERATOR_CAMPAIGN, namespace="default", **spec)


# A running driver publishes every 2 s; one silent for longer than this is reported stalled.
STALL_SECONDS = 10


@pytest.fixture(scope="session")
def kuberay_crd() -> dict[str, Any]:
    path = KUBERAY_CRDS / "ray.io_rayjobs.yaml"
    if not path.exists():
        pytest.fail(f"KubeRay's CRDs are expected in {KUBERAY_CRDS} (a copy of shared/ beside the "
                    "repository); they are the schema every generated RayJob is checked against")
    return dict(yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


@pytest.fixture(scope="session")
def helm() -> Path:
    binary = REPO / ".tools/helm"
    if not binary.exists():
        subprocess.run(["bash", str(REPO / "scripts/get-helm.sh")], check=True, timeout=300,
                       capture_output=True)
    return binary


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedCluster]:
    """The emulator with KubeRay's real RayJob CRD and our CRD applied through kubectl."""
    emulated = EmulatedCluster(tmp_path_factory.mktemp("cluster"))
    try:
        # `create`, not `apply`: apply would copy the 1.4 MB CRD into an annotation.
        emulated.kubectl("create", "-f", str(KUBERAY_CRDS / "ray.io_rayjobs.yaml"))
        emulated.kubectl("apply", "-f", str(CRD_FILE))
        yield emulated
    finally:
        emulated.close()


@pytest.fixture
def api(cluster: EmulatedCluster, monkeypatch: pytest.MonkeyPatch) -> client.ApiClient:
    """The operator's client (:mod:`hpo_operator.kube`) talking to the emulator, Events muted."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(cluster.kubeconfig),
                            client_configuration=configuration)
    api_client = client.ApiClient(configuration)
    monkeypatch.setattr(kube, "_api", lambda: api_client)
    monkeypatch.setattr(kopf, "event", lambda *_, **__: None)
    return api_client


@pytest.fixture(scope="module")
def standin(cluster: EmulatedCluster) -> Iterator[KubeRayStandIn]:
    with serving(cluster) as runner:
        yield runner


@pytest.fixture(scope="module")
def operator(cluster: EmulatedCluster, standin: KubeRayStandIn) -> Iterator[OperatorProcess]:
    # A short experiment-checkpoint period so that a killed driver loses little (passed to the
    # driver through the RayJob's runtime env, as on a cluster).
    process = OperatorProcess(cluster, {"HPO_EXPERIMENT_CHECKPOINT_SECONDS": "1",
                                        "HPO_RESYNC_SECONDS": "5",
                                        "HPO_DRIVER_STALL_SECONDS": str(STALL_SECONDS)}).start()
    yield process
    process.stop()
