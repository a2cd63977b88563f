"""``hpo render --backend kuberay``: the objects the operator would create, as reviewable YAML."""

from __future__ import annotations

from typing import Any

import yaml

from ..campaign.spec import Campaign
from . import names
from .rayjob import (
    ClusterDefaults,
    build_manifest_configmap,
    build_progress_configmap,
    build_rayjob,
)
from .security import (
    TOKEN_PLACEHOLDER,
    build_network_policy,
    build_token_secret,
    driver_objects,
)


def build_objects(campaign: Campaign, defaults: ClusterDefaults | None = None,
                  owner_uid: str | None = None, *, token: str) -> list[dict[str, Any]]:
    """Every child of a campaign, in creation order (``names.children``): the RayJob goes last,
    since its pods mount the manifest ConfigMap, read the token Secret and run as the driver's
    account, and the NetworkPolicy must hold before they start. ``token`` has no default: the
    operator passes a new random one, ``hpo render`` the placeholder."""
    defaults = defaults or ClusterDefaults()
    return [build_manifest_configmap(campaign, owner_uid),
            build_progress_configmap(campaign, owner_uid),
            build_token_secret(campaign, token, owner_uid),
            *driver_objects(campaign, owner_uid),
            build_network_policy(campaign, defaults, owner_uid),
            build_rayjob(campaign, defaults, owner_uid)]


def render_yaml(campaign: Campaign, defaults: ClusterDefaults | None = None) -> str:
    """Multi-document YAML. Without a cluster there is no campaign uid, so the owner references
    the operator adds are left out, and the Secret shows a placeholder where the operator puts
    the campaign's random token; everything else is what the operator creates."""
    docs = build_objects(campaign, defaults, token=TOKEN_PLACEHOLDER)
    meta = campaign.metadata
    header = (f"# Objects the hpo operator creates for HPOCampaign {meta.namespace}/{meta.name}"
              " (plus ownerReferences).\n"
              f"# Secret {names.token_secret_name(meta.name)} holds a placeholder, {TOKEN_PLACEHOLDER}:\n"
              "# the operator puts a random Ray token there instead, a new one for each campaign.\n")
    return header + yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)
