"""The HPOCampaign resource's identity on Kubernetes: its API group, version and names."""

from __future__ import annotations

GROUP = "hpo.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "HPOCampaign"
LIST_KIND = f"{KIND}List"
PLURAL = "hpocampaigns"
SINGULAR = "hpocampaign"
SHORT_NAME = "hpoc"
