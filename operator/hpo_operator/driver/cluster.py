"""The Ray cluster a campaign runs on: joined or started, its nodes awaited, its size checked."""

from __future__ import annotations

import logging
import os

from ..campaign.spec import CampaignSpec
from ..campaign.status import Phase
from .events import CampaignProgress

logger = logging.getLogger(__name__)


def ensure_ray(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (None: start an embedded one) unless already joined."""
    import ray

    if ray.is_initialized():
        return
    # Trial output stays in each trial's log files; the console shows the campaign's progress.
    verbose = os.environ.get("HPO_VERBOSE") == "1"
    ray.init(address=address, include_dashboard=False, log_to_driver=verbose,
             logging_level=logging.INFO if verbose else logging.WARNING,
             configure_logging=True)


def wait_for_nodes(nodes: int, timeout: float, progress: CampaignProgress) -> str | None:
    """Wait for the nodes the cluster was given; None once they are there, else how many are.
    The status says what the campaign waits for meanwhile (condition ``NodesReady``)."""
    if nodes <= 1:
        return None
    from ..campaign import nodes as ray_nodes

    alive = ray_nodes.alive_nodes()
    if alive < nodes:
        # A condition, not only the message: on Kubernetes the operator owns the message.
        waiting = f"waiting up to {timeout:g} s for {nodes} Ray nodes to join ({alive} so far)"
        logger.warning("%s", waiting)
        progress.base.set_condition("NodesReady", False, "WaitingForNodes", waiting)
        progress.publish(Phase.PENDING, message=waiting)
    missing = ray_nodes.wait_for_nodes(nodes, timeout)
    if missing:  # trials may still run on the nodes there are; the resource check decides
        logger.warning("%s; starting with the nodes there are", missing)
        progress.base.set_condition("NodesReady", False, "NodesMissing", missing)
    else:
        progress.base.set_condition("NodesReady", True, "NodesJoined", f"{nodes} Ray nodes alive")
    return missing


def unschedulable(spec: CampaignSpec) -> str | None:
    """Why no trial could ever start on this cluster, or None. Tune would wait forever instead.

    Only the nodes there are count: an autoscaling cluster may add nodes, but not beyond its
    limits. ``HPO_SKIP_RESOURCE_CHECK=1`` skips the check (a cluster whose limits Ray cannot see
    yet).
    """
    if os.environ.get("HPO_SKIP_RESOURCE_CHECK"):
        return None
    import ray

    from ..campaign.placement import placement_problem

    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    per_trial = spec.resources.per_trial
    return placement_problem(per_trial.ray_bundles(), per_trial.placement_strategy, nodes)
