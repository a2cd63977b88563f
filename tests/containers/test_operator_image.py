"""The operator image on the Kubernetes emulator: the end-to-end scenario of
``tests/operator/test_e2e_emulator.py``, unchanged, with ``hpo operator`` in its container (uid
10001, read-only root filesystem, no capabilities, no privilege escalation) instead of a local
process. The container reaches the emulator at this machine's address on an internal test
network; RayJobs are run by the KubeRay stand-in as local drivers (KubeRay is not here), so this
module tests the operator image, and ``test_rayjob_containers.py`` the trainer image under a RayJob.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.operator import test_e2e_emulator as scenario
from tests.operator.conftest import STALL_SECONDS
from tests.support.cluster import EmulatedCluster
from tests.support.containers import Network
from tests.support.kuberay_standin import KubeRayStandIn, serving
from tests.support.operator_container import LIVENESS_PORT, OperatorContainer

from .conftest import Lab

pytestmark = [pytest.mark.containers, pytest.mark.k8s]

# The scenario's fixture and every one of its tests, in their order; the fixtures below replace
# the operator process with the container.
globals().update({name: value for name, value in vars(scenario).items()
                  if name == "lifecycle" or name.startswith("test_")})


@pytest.fixture(scope="module")
def standin(cluster: EmulatedCluster) -> Iterator[KubeRayStandIn]:
    with serving(cluster) as runner:
        yield runner


@pytest.fixture(scope="module")
def operator(lab: Lab, network: Network, cluster: EmulatedCluster,
             standin: KubeRayStandIn) -> Iterator[OperatorContainer]:
    container = OperatorContainer(lab.podman, lab.images.operator, network, cluster, {
        "HPO_EXPERIMENT_CHECKPOINT_SECONDS": "1", "HPO_RESYNC_SECONDS": "5",
        "HPO_DRIVER_STALL_SECONDS": str(STALL_SECONDS)}).start()
    yield container
    container.stop()


def test_the_operator_runs_locked_down(lab: Lab, operator: OperatorContainer) -> None:
    podman, cid = lab.podman, operator.cid
    assert cid is not None
    config = podman.inspect(cid)
    host = config["HostConfig"]
    assert config["Config"]["User"] == "10001:10001", config["Config"]["User"]
    assert host["ReadonlyRootfs"] is True
    assert "no-new-privileges" in host["SecurityOpt"], host["SecurityOpt"]
    status = podman("exec", cid, "cat", "/proc/1/status")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split()[:2] == ["10001", "10001"], fields["Uid"]
    assert fields["Gid"].split()[:2] == ["10001", "10001"], fields["Gid"]
    assert fields["CapEff"].strip() == "0000000000000000", fields["CapEff"]
    assert fields["NoNewPrivs"].strip() == "1", fields["NoNewPrivs"]
    assert "hpo operator" in podman("exec", cid, "cat", "/proc/1/cmdline").replace("\0", " ")
    assert not podman.succeeds("exec", cid, "touch", "/written"), "the root filesystem is writable"
    assert requests.get(f"http://{operator.address}:{LIVENESS_PORT}/healthz", timeout=5).ok
