"""The Ray nodes a campaign's RayJob gives its trials, and whether its trials fit them.

The worker pods are all alike (``resources.cluster``), so a trial's bundles fit the RayJob's
cluster or never will: the operator refuses such a campaign before creating anything, instead
of leaving Tune to wait on a cluster that cannot grow.
"""

from __future__ import annotations

import json

from ..campaign.placement import placement_problem
from ..campaign.problem import Problem
from ..campaign.spec import Campaign, ClusterResources
from ..campaign.spec.k8s import memory_bytes


def ray_nodes(cluster: ClusterResources) -> list[dict[str, float]]:
    """Each node's Ray resources: KubeRay starts Ray with the pod's CPU, GPU and memory limits;
    the head runs trials only when there are no workers."""
    custom = {name: float(amount) for name, amount in cluster.custom_per_worker.items()}
    if not cluster.workers:
        return [{"CPU": float(cluster.head_cpus), "memory": memory_bytes(cluster.head_memory),
                 **custom}]
    worker = {"CPU": float(cluster.cpus_per_worker), "GPU": float(cluster.gpus_per_worker),
              "memory": memory_bytes(cluster.memory_per_worker), **custom}
    # The head (num-cpus 0) can still hold a bundle of memory alone.
    return [{"memory": memory_bytes(cluster.head_memory)}] + [worker] * cluster.workers


def sizing_problems(campaign: Campaign) -> list[Problem]:
    per_trial = campaign.spec.resources.per_trial
    why = placement_problem(per_trial.ray_bundles(), per_trial.placement_strategy,
                            ray_nodes(campaign.spec.resources.cluster),
                            where="the RayJob's cluster (spec.resources.cluster)")
    return [Problem("spec.resources.perTrial", why)] if why else []


def custom_resources_param(cluster: ClusterResources) -> dict[str, str]:
    """``rayStartParams`` entry for the nodes' custom resources, as KubeRay expects it: a JSON
    object inside a double-quoted string (KubeRay passes the value to ``ray start --resources``
    through a shell; the names are plain identifiers, so nothing else in it is special there)."""
    if not cluster.custom_per_worker:
        return {}
    amounts = {name: int(amount) if float(amount).is_integer() else amount
               for name, amount in sorted(cluster.custom_per_worker.items())}
    return {"resources": json.dumps(json.dumps(amounts))}
