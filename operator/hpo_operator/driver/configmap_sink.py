"""The driver's progress channel on Kubernetes: a ConfigMap the operator folds into the status.

The driver (``hpo run --progress-configmap NS/NAME`` inside the Ray head pod) is not the operator
and never writes the campaign itself: it publishes its status snapshot as JSON into one ConfigMap
key, and the operator, the only writer of campaign status, picks it up from its watch. The
driver's CoalescingPublisher already limits this to one write per interval.

The operator creates the ConfigMap, owned by the campaign; the driver only patches it. A driver
that outlives its campaign (deleted while the head pod shuts down) then gets HTTP 404 instead of
leaving behind an unowned ConfigMap that a later campaign of the same name would read. Given the
campaign's uid (``hpo run --instance``), each patch also checks that the ConfigMap is still that
campaign's: once a new campaign of the same name owns it, this driver stops publishing.
"""

from __future__ import annotations

import json
import logging

from .. import kube
from ..campaign.status import CampaignStatus
from ..kuberay import names

logger = logging.getLogger(__name__)


class ConfigMapSink:
    def __init__(self, namespace: str, name: str, campaign: str,
                 owner_uid: str | None = None) -> None:
        self.namespace, self.name, self.campaign = namespace, name, campaign
        self.owner_uid = owner_uid
        self.failures = 0  # consecutive failed publishes
        self.disowned = False  # the ConfigMap now belongs to another campaign object

    def publish(self, status: CampaignStatus) -> None:
        if self.disowned:
            return
        data = {names.PROGRESS_KEY: json.dumps(status.to_dict(), sort_keys=True)}
        try:
            kube.patch_configmap_data(self.namespace, self.name, data, self.owner_uid)
        except Exception as exc:
            if self.owner_uid and isinstance(exc, kube.KubeError) and exc.status == 422:
                self.disowned = True  # the owner test failed: a new campaign of the same name
                logger.warning("ConfigMap %s/%s is no longer owned by campaign %s (uid %s): its "
                               "progress is not published any more", self.namespace, self.name,
                               self.campaign, self.owner_uid)
                return
            # Progress is advisory: whatever went wrong (API error, lost connection, no
            # credentials), the campaign goes on and the next snapshot may get through. One
            # warning per streak of failures, so that an unreachable API does not flood the log.
            self.failures += 1
            log = logger.warning if self.failures == 1 else logger.debug
            log("cannot publish progress of campaign %s to ConfigMap %s/%s: %s", self.campaign,
                self.namespace, self.name, exc)
            return
        if self.failures:
            logger.info("progress of campaign %s reaches ConfigMap %s/%s again after %d failed "
                        "attempts", self.campaign, self.namespace, self.name, self.failures)
            self.failures = 0
