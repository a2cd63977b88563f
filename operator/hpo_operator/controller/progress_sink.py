"""The driver's progress channel on Kubernetes: a ConfigMap the operator folds into the status.

The driver (``hpo run --progress-configmap NS/NAME`` inside the Ray head pod) is not the operator
and never writes the campaign itself: it publishes its status snapshot as JSON into one ConfigMap
key, and the operator, the only writer of campaign status, picks it up from its watch. The
driver's CoalescingPublisher already limits this to one write per interval.
"""

from __future__ import annotations

import json
import logging

from ..campaign.status import CampaignStatus
from ..kuberay import names
from . import kube

logger = logging.getLogger(__name__)


class ConfigMapSink:
    def __init__(self, namespace: str, name: str, campaign: str) -> None:
        self.namespace, self.name, self.campaign = namespace, name, campaign
        self.failures = 0

    def publish(self, status: CampaignStatus) -> None:
        data = {names.PROGRESS_KEY: json.dumps(status.to_dict(), sort_keys=True)}
        try:
            kube.put_configmap_data(self.namespace, self.name, data,
                                    names.labels(self.campaign, "progress"))
        except kube.KubeError as exc:
            # Progress is advisory: the campaign goes on, and the next snapshot may get through.
            self.failures += 1
            log = logger.warning if self.failures == 1 else logger.debug
            log("cannot publish progress to ConfigMap %s/%s: %s", self.namespace, self.name, exc)
