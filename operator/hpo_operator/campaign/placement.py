"""Whether a trial's bundles can ever be placed on a cluster of given nodes: one check for the
driver (the live Ray nodes), the KubeRay RayJob (its pods' sizes) and Slurm (its nodes).

Only what is certain is refused: each bundle must fit some node, a STRICT_PACK group one node,
a STRICT_SPREAD group as many nodes as it has bundles, and the whole trial the cluster's totals.
The checks are necessary conditions, so a trial they pass may still wait for resources that
other trials hold, never for resources the cluster lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Resources = Mapping[str, float]
_SHOWN = {"CPU": "CPU", "GPU": "GPU", "memory": "bytes of memory"}


def fits(bundle: Resources, node: Resources) -> bool:
    return all(amount <= node.get(name, 0.0) for name, amount in bundle.items())


def describe(resources: Resources) -> str:
    parts = []
    for name, amount in resources.items():
        if name == "memory":
            parts.append(f"{amount / 2**30:g} GiB memory")
        else:
            parts.append(f"{amount:g} {_SHOWN.get(name, name)}")
    return ", ".join(parts) or "nothing"


def _summed(bundles: Sequence[Resources]) -> dict[str, float]:
    total: dict[str, float] = {}
    for bundle in bundles:
        for name, amount in bundle.items():
            total[name] = total.get(name, 0.0) + amount
    return total


def placement_problem(bundles: Sequence[Resources], strategy: str,
                      nodes: Sequence[Resources], where: str = "the Ray cluster") -> str | None:
    """Why a trial of ``bundles`` placed by ``strategy`` can never start on ``nodes``, or None."""
    total = _summed(bundles)
    cluster = _summed(nodes)
    for name, amount in total.items():
        if amount > cluster.get(name, 0.0):
            have = cluster.get(name, 0.0)
            shown = f"{have / 2**30:g} GiB" if name == "memory" else f"{have:g}"
            return (f"each trial asks for {describe({name: amount})} "
                    f"(spec.resources.perTrial) but {where} has {shown} in all; lower the "
                    "request or add nodes")
    for i, bundle in enumerate(bundles):
        if not any(fits(bundle, node) for node in nodes):
            which = f"bundle {i} of each trial" if len(bundles) > 1 else "each trial"
            return (f"{which} asks for {describe(bundle)} on one node (spec.resources.perTrial) "
                    f"but no node of {where} has that much; lower the request or use larger "
                    "nodes")
    if strategy == "STRICT_PACK" and len(bundles) > 1 \
            and not any(fits(total, node) for node in nodes):
        return (f"placementStrategy STRICT_PACK puts a trial's {len(bundles)} bundles "
                f"({describe(total)}) on one node, and no node of {where} has that much")
    if strategy == "STRICT_SPREAD":
        usable = sum(1 for node in nodes if any(fits(bundle, node) for bundle in bundles))
        if usable < len(bundles):
            return (f"placementStrategy STRICT_SPREAD puts each of a trial's {len(bundles)} "
                    f"bundles on its own node, and {where} has {usable} node(s) that fit one")
    return None
