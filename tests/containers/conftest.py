"""Fixtures of the container tests: the images, built once per session by the script behind
``make images`` (a test build: the CPU wheel of torch), a test network, and the Kubernetes
emulator listening on this machine's address on that network, where containers reach it.

Skipped, with the reason, only where no container engine can be had (see
:func:`tests.support.containers.unavailable_reason`). Everything created is removed by its id.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.operator.conftest import CRD_FILE, KUBERAY_CRDS
from tests.support.cluster import EmulatedCluster
from tests.support.containers import (
    Images,
    Network,
    Podman,
    build_images,
    remove_images,
    unavailable_reason,
)
from tests.support.poll import wait_until


@dataclass
class Lab:
    podman: Podman
    images: Images


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``HPO_TEST_IMAGES="OPERATOR TRAINER"`` uses images built before (by ``make images
    TORCH=cpu``), for a quicker edit-and-test loop; they are then neither built nor removed."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    logs = tmp_path_factory.mktemp("containers")
    podman = Podman(logs)
    given = os.environ.get("HPO_TEST_IMAGES", "").split()
    images = Images(*given, ids=[], build_seconds=0) if given else build_images(
        podman, logs / "build-images.log")
    try:
        yield Lab(podman, images)
    finally:
        podman.close()
        remove_images(podman, images)


def _bound(address: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, 0))
            return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def network(lab: Lab) -> Iterator[Network]:
    """An internal network, and a container that holds it up: its bridge, with this machine's
    address on it, exists only while a container is attached."""
    podman = lab.podman
    net = podman.network()
    holder = podman.run("--network", net.name, "--entrypoint", "sleep", lab.images.operator,
                        "infinity")
    try:
        wait_until(lambda: _bound(net.gateway), 60,
                   message=f"the address {net.gateway} on the test network")
        yield net
    finally:
        podman.remove(holder, f"{net.name}-holder")
        podman.remove_network(net)


@pytest.fixture(scope="module")
def cluster(network: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedCluster]:
    """The emulator on the network's gateway address, with KubeRay's RayJob CRD and ours."""
    emulated = EmulatedCluster(tmp_path_factory.mktemp("cluster"), host=network.gateway)
    try:
        emulated.kubectl("create", "-f", str(KUBERAY_CRDS / "ray.io_rayjobs.yaml"))
        emulated.kubectl("apply", "-f", str(CRD_FILE))
        yield emulated
    finally:
        emulated.close()
