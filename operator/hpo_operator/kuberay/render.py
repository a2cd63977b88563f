"""``hpo render --backend kuberay``: the objects the operator would create, as reviewable YAML."""

from __future__ import annotations

from typing import Any

import yaml

from ..campaign.spec import Campaign
from .rayjob import (
    ClusterDefaults,
    build_manifest_configmap,
    build_progress_configmap,
    build_rayjob,
)
from .security import driver_objects


def build_objects(campaign: Campaign, defaults: ClusterDefaults | None = None,
                  owner_uid: str | None = None) -> list[dict[str, Any]]:
    """Every child of a campaign, in creation order (``names.children``): the RayJob goes last,
    since its pods mount the manifest ConfigMap and run as the driver's account."""
    defaults = defaults or ClusterDefaults()
    return [build_manifest_configmap(campaign, owner_uid),
            build_progress_configmap(campaign, owner_uid),
            *driver_objects(campaign, owner_uid),
            build_rayjob(campaign, defaults, owner_uid)]


def render_yaml(campaign: Campaign, defaults: ClusterDefaults | None = None) -> str:
    """Multi-document YAML. Without a cluster there is no campaign uid, so the owner references
    the operator adds are left out; everything else is what the operator creates."""
    docs = build_objects(campaign, defaults)
    header = (f"# Objects the hpo operator creates for HPOCampaign "
              f"{campaign.metadata.namespace}/{campaign.metadata.name} (plus ownerReferences)\n")
    return header + yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)
