"""kopf registrations: each handler unpacks kopf's arguments and calls one action.

Run with ``hpo operator`` or ``kopf run -m hpo_operator.controller.handlers``. Campaigns are ours
(create/resume/update/delete handlers); RayJobs and progress ConfigMaps are watched with ``on.event``,
which stores nothing on them (RayJobs belong to KubeRay, progress to the driver).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from typing import Any

import kopf

from ..campaign import api
from ..campaign.status_io import StatusUnreadable, parse_status
from ..kuberay import names
from . import campaigns
from .metrics import Metrics
from .settings import OperatorSettings

CAMPAIGNS = (api.GROUP, api.VERSION, api.PLURAL)
# The API server stores objects nested up to 10,000 levels (Go's JSON decoder); kopf and the
# Kubernetes client decode them with Python's, which recurses once per level (and the operator's
# own code a few times more): a campaign nested 1,000 levels deep would otherwise stop the watch
# of every campaign. Validation then rejects it (trainable.config nests at most 10 levels).
DECODABLE_DEPTH = 10_000
RECURSION_LIMIT = 5 * DECODABLE_DEPTH
RAYJOBS = (names.RAYJOB_GROUP, names.RAYJOB_VERSION, names.RAYJOB_PLURAL)
CONFIGMAPS = ("v1", "configmaps")
RAYJOB_LABELS: Mapping[str, Any] = {names.CAMPAIGN_LABEL: kopf.PRESENT}
PROGRESS_LABELS: Mapping[str, Any] = {names.CAMPAIGN_LABEL: kopf.PRESENT,
                                      names.COMPONENT_LABEL: "progress"}


def allow_deep_objects() -> None:
    """Let this process decode and handle any object the API server stores (see DECODABLE_DEPTH).
    The C stack suffices: Python 3.11 recurses in C for JSON only, a few hundred bytes a level."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


def label_selector(labels: Mapping[str, Any]) -> str:
    """A handler's ``labels=`` filter as a Kubernetes label selector."""
    return ",".join(key if value is kopf.PRESENT else f"{key}={value}"
                    for key, value in labels.items())


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger,
              **_: Any) -> None:
    allow_deep_objects()
    memo.settings = OperatorSettings.from_env()
    memo.metrics = Metrics()
    # Handler progress goes to annotations: the status subresource is the campaign's, not kopf's.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=api.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=api.GROUP)
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300  # re-list every few minutes in case a watch went stale
    # The handlers' labels= filters act only on objects already received: without a server-side
    # selector the operator would list and watch every RayJob and ConfigMap it can see.
    settings.watching.label_selectors[RAYJOBS] = label_selector(RAYJOB_LABELS)
    settings.watching.label_selectors[CONFIGMAPS] = label_selector(PROGRESS_LABELS)
    if memo.settings.metrics_port:
        memo.metrics.serve(memo.settings.metrics_port)
        logger.info("metrics on :%d/metrics", memo.settings.metrics_port)


@kopf.on.resume(*CAMPAIGNS)
@kopf.on.create(*CAMPAIGNS)
def provision(body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    campaigns.provision(dict(body), memo.settings, memo.metrics, logger)


@kopf.on.update(*CAMPAIGNS, field="spec")
def spec_changed(body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, retry: int,
                 **_: Any) -> None:
    campaigns.spec_changed(dict(body), memo.settings, memo.metrics, logger, retry)


@kopf.on.event(*RAYJOBS, labels=RAYJOB_LABELS)
def rayjob_changed(namespace: str, labels: kopf.Labels, memo: kopf.Memo, **_: Any) -> None:
    campaigns.sync(namespace, labels[names.CAMPAIGN_LABEL], memo.settings, memo.metrics,
                   "rayjob")


@kopf.on.event(*CONFIGMAPS, labels=PROGRESS_LABELS)
def progress_changed(namespace: str, labels: kopf.Labels, memo: kopf.Memo, **_: Any) -> None:
    campaigns.sync(namespace, labels[names.CAMPAIGN_LABEL], memo.settings, memo.metrics,
                   "progress")


def _unfinished(status: kopf.Status, **_: Any) -> bool:
    """Whether a campaign still runs. One whose status this operator cannot read gets no resync:
    it is left alone (see campaigns._own_status), and a filter that raised would keep kopf from
    running any handler of the campaign, its clean-up included."""
    try:
        return not parse_status(dict(status)).phase.terminal
    except StatusUnreadable:
        return False


@kopf.daemon(*CAMPAIGNS, when=_unfinished, cancellation_timeout=5)
async def resync(namespace: str, name: str, memo: kopf.Memo, stopped: kopf.DaemonStopped,
                 logger: logging.Logger, **_: Any) -> None:
    """A slow periodic sync while a campaign runs, in case a watch event was missed.

    Async, so that a running campaign holds no thread between syncs: kopf runs sync handlers in
    one bounded thread pool, which a waiting thread per campaign would exhaust, starving the
    provisioning, event and clean-up handlers of every campaign.
    """
    while not await stopped.wait(memo.settings.resync_seconds):
        try:
            await asyncio.to_thread(campaigns.sync, namespace, name, memo.settings, memo.metrics,
                                    "resync")
        except Exception as exc:
            # Counted in hpo_reconcile_errors_total; the next period tries again.
            logger.warning("resync failed: %s", exc)


@kopf.on.delete(*CAMPAIGNS)
def cleanup(namespace: str, name: str, body: kopf.Body, memo: kopf.Memo,
            logger: logging.Logger, **_: Any) -> None:
    campaigns.cleanup(namespace, name, body["metadata"].get("uid"), memo.metrics, logger)

