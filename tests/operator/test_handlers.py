"""The kopf handlers' own behaviour: the resync daemon and what the operator watches."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

import kopf
import pytest

from hpo_operator import kube
from hpo_operator.campaign import api
from hpo_operator.controller import campaigns, handlers
from hpo_operator.controller.metrics import Metrics
from hpo_operator.controller.settings import OperatorSettings
from hpo_operator.kuberay import names

NS, NAME = "default", "toy"
LOG = logging.getLogger("test")


class Stopped:
    """What kopf gives an async daemon as ``stopped``: ``await stopped.wait(t)`` is truthy once
    the daemon is to stop."""

    def __init__(self) -> None:
        self.flag = asyncio.Event()

    def __bool__(self) -> bool:
        return self.flag.is_set()

    def wait(self, timeout: float) -> Any:
        async def waited() -> Stopped:
            try:
                await asyncio.wait_for(self.flag.wait(), timeout)
            except asyncio.TimeoutError:
                pass
            return self
        return waited()


def test_resync_daemons_hold_no_thread_between_syncs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many running campaigns, two threads: each campaign is still synced, again and again."""
    synced: list[str] = []
    monkeypatch.setattr(campaigns, "sync", lambda ns, name, *_: synced.append(name))
    memo = kopf.Memo(settings=OperatorSettings(resync_seconds=0.02), metrics=Metrics())

    async def run() -> None:
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=2))
        stops = [Stopped() for _ in range(20)]
        daemons = [asyncio.create_task(handlers.resync(
            namespace=NS, name=f"c{i}", memo=memo, stopped=stop, logger=LOG))
            for i, stop in enumerate(stops)]
        await asyncio.sleep(1.0)
        for stop in stops:
            stop.flag.set()
        await asyncio.wait_for(asyncio.gather(*daemons), 5)

    asyncio.run(run())
    assert {f"c{i}" for i in range(20)} == set(synced)
    assert all(synced.count(f"c{i}") >= 2 for i in range(20))


def test_a_failed_resync_does_not_end_the_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def failing(*_: Any) -> None:
        calls.append(1)
        raise kube.KubeError("get: HTTP 500", 500)

    monkeypatch.setattr(campaigns, "sync", failing)
    memo = kopf.Memo(settings=OperatorSettings(resync_seconds=0.01), metrics=Metrics())

    async def run() -> None:
        stop = Stopped()
        daemon = asyncio.create_task(handlers.resync(namespace=NS, name=NAME, memo=memo,
                                                     stopped=stop, logger=LOG))
        await asyncio.sleep(0.3)
        stop.flag.set()
        await asyncio.wait_for(daemon, 5)

    asyncio.run(run())
    assert len(calls) >= 3


def test_only_the_operators_rayjobs_and_configmaps_are_watched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_METRICS_PORT", "0")
    settings = kopf.OperatorSettings()
    handlers.configure(settings=settings, memo=kopf.Memo(), logger=LOG)
    selectors = settings.watching.label_selectors
    rayjobs = kopf.Resource("ray.io", "v1", "rayjobs", kind="RayJob")
    configmaps = kopf.Resource("", "v1", "configmaps", kind="ConfigMap")
    assert selectors.collect(rayjobs) == [names.CAMPAIGN_LABEL]
    assert selectors.collect(configmaps) == [
        f"{names.CAMPAIGN_LABEL},{names.COMPONENT_LABEL}=progress"]
    assert selectors.collect(kopf.Resource(api.GROUP, api.VERSION, api.PLURAL)) == []
    assert selectors.collect(kopf.Resource("", "v1", "secrets")) == []


