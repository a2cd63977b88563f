"""Periodic crystal graphs for CGCNN, built once per process and cached.

Each structure becomes a :class:`torch_geometric.data.Data` with

* ``z`` (``[N]``, long): atomic numbers, embedded by the model;
* ``adsorbate`` (``[N]``, long): 1 for adsorbate atoms (ASE tag 0 on a tagged slab), else 0;
* ``edge_index`` (``[2, E]``): messages flow from a neighbour (row 0) to its centre atom (row 1);
* ``edge_dist`` (``[E]``) and ``edge_attr`` (``[E, num_gaussians]``): the bond length and its
  Gaussian expansion;
* ``y`` (``[1]``): the target in eV.

Neighbours are all periodic images within ``cutoff``; like CGCNN, each atom keeps at most its
``max_neighbors`` nearest (``None`` keeps all, giving a symmetric graph). Small cells, the usual
case here, use a brute-force search over the needed lattice images in one numpy expression, about
100x faster than a general neighbour list; large cells use ``ase.neighborlist``.

Graphs are cached in memory per process, keyed by the file's identity and the featurisation
parameters, so a Tune worker builds them once however many trials it runs. The distances are also
cached on disk, as a hidden torch file next to the structures (or under the data cache folder when
that folder is read-only), so a new worker only loads them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.neighborlist import neighbor_list
from torch import Tensor, nn
from torch_geometric.data import Data

from .config import TrialConfig, check
from .data import DEFAULT_TARGET_KEY, StructureSet, cache_dir, read_structures, resolve

# Bump when the graph recipe changes, so stale disk caches are ignored.
FEATURE_VERSION = 1
# Above this many candidate pairs (atoms^2 x images), the brute-force search costs too much memory.
_BRUTE_FORCE_LIMIT = 2_000_000
# The featurisation defaults are the trial config's.
_DEFAULTS = TrialConfig()


@dataclass(frozen=True)
class GraphSpec:
    """Featurisation parameters (part of every cache key).

    Each is the trial config key of the same name, with its default and its rule.
    """

    cutoff: float = _DEFAULTS.cutoff
    num_gaussians: int = _DEFAULTS.num_gaussians
    max_neighbors: int | None = _DEFAULTS.max_neighbors

    def __post_init__(self) -> None:
        for f in fields(self):
            check(f.name, getattr(self, f.name))

    @classmethod
    def from_config(cls, config: TrialConfig) -> GraphSpec:
        """The featurisation parameters of a trial."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


class GaussianSmearing(nn.Module):
    r"""Expands distances on ``num_gaussians`` Gaussians evenly spaced in ``[start, stop]``.

    .. math::
        e_k(d) = \exp\left(-\frac{(d - \mu_k)^2}{2 \Delta^2}\right), \quad
        \Delta = \mu_{k+1} - \mu_k

    Shapes:
        - input: ``[E]``
        - output: ``[E, num_gaussians]``
    """

    offset: Tensor

    def __init__(self, start: float = 0.0, stop: float = _DEFAULTS.cutoff,
                 num_gaussians: int = _DEFAULTS.num_gaussians) -> None:
        super().__init__()
        offset = torch.linspace(start, stop, num_gaussians)
        self.coeff = -0.5 / float(offset[1] - offset[0]) ** 2
        self.register_buffer("offset", offset)

    def forward(self, dist: Tensor) -> Tensor:
        diff = dist.view(-1, 1) - self.offset.view(1, -1)
        return torch.exp(self.coeff * diff.pow(2))


def adsorbate_mask(atoms: Atoms) -> np.ndarray:
    """Adsorbate atoms by ASE's slab convention (tag 0 above layers tagged 1, 2, ...)."""
    tags = atoms.get_tags()
    if tags.size and (tags > 0).any() and (tags == 0).any():
        return tags == 0
    return np.zeros(len(atoms), dtype=bool)  # untagged structures carry no adsorbate marker


def _brute_force_pairs(atoms: Atoms, cutoff: float) -> tuple[np.ndarray, ...] | None:
    pbc = atoms.pbc
    cell = np.asarray(atoms.cell)
    if pbc.any() and abs(np.linalg.det(cell)) < 1e-9:
        return None
    positions = atoms.get_positions(wrap=bool(pbc.any()))
    reps = [0, 0, 0]
    if pbc.any():
        # Lattice-plane spacings: images beyond ceil(cutoff / spacing) cells cannot be in range.
        spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell).T, axis=1)
        reps = [int(np.ceil(cutoff / s)) if p else 0 for s, p in zip(spacing, pbc, strict=True)]
    shifts = np.array(list(itertools.product(*(range(-r, r + 1) for r in reps))), dtype=float)
    n = len(atoms)
    if n * n * len(shifts) > _BRUTE_FORCE_LIMIT:
        return None
    # vec[i, j, s] points from centre i to image s of neighbour j.
    vec = positions[None, :, None, :] + (shifts @ cell)[None, None] - positions[:, None, None, :]
    dist = np.linalg.norm(vec, axis=-1)
    keep = dist <= cutoff
    zero = np.flatnonzero((shifts == 0).all(axis=1))[0]
    keep[np.arange(n), np.arange(n), zero] = False  # an atom is not its own neighbour
    i, j, s = np.nonzero(keep)
    return i, j, dist[i, j, s]


def neighbor_pairs(atoms: Atoms, cutoff: float,
                   max_neighbors: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres ``i``, neighbours ``j`` and distances ``d`` of all periodic pairs within ``cutoff``.

    With ``max_neighbors``, each centre keeps only its nearest ``max_neighbors`` (ties broken by
    search order, which is deterministic). Pairs are sorted by centre, then distance.
    """
    found = _brute_force_pairs(atoms, cutoff)
    if found is None:
        found = neighbor_list("ijd", atoms, cutoff)
    i, j, d = (np.asarray(a) for a in found)
    order = np.lexsort((d, i))
    i, j, d = i[order], j[order], d[order]
    if max_neighbors is not None and len(i):
        first = np.searchsorted(i, i, side="left")  # index where each centre's run begins
        rank = np.arange(len(i)) - first
        keep = rank < max_neighbors
        i, j, d = i[keep], j[keep], d[keep]
    return i, j, d


def atoms_to_graph(atoms: Atoms, target: float, spec: GraphSpec = GraphSpec()) -> Data:
    """One structure as a graph with distances only (``edge_attr`` is added by the loader)."""
    i, j, d = neighbor_pairs(atoms, spec.cutoff, spec.max_neighbors)
    return Data(
        z=torch.as_tensor(atoms.numbers, dtype=torch.long),
        adsorbate=torch.as_tensor(adsorbate_mask(atoms), dtype=torch.long),
        edge_index=torch.as_tensor(np.stack([j, i]), dtype=torch.long),
        edge_dist=torch.as_tensor(d, dtype=torch.float32),
        y=torch.tensor([target], dtype=torch.float32),
        num_nodes=len(atoms),
    )


def build_graphs(structures: StructureSet, spec: GraphSpec = GraphSpec()) -> list[Data]:
    """Graphs of every structure, with Gaussian-expanded edges."""
    graphs = [atoms_to_graph(a, float(y), spec) for a, y in
              zip(structures.structures, structures.targets, strict=True)]
    return _with_edge_attr(graphs, spec)


def _with_edge_attr(graphs: list[Data], spec: GraphSpec) -> list[Data]:
    smearing = GaussianSmearing(0.0, spec.cutoff, spec.num_gaussians)
    with torch.no_grad():
        for graph in graphs:
            graph.edge_attr = smearing(graph.edge_dist)
    return graphs


_MEMORY: dict[tuple[object, ...], list[Data]] = {}


def clear_memory_cache() -> None:
    """Forget the graphs cached in this process (tests use it to force a rebuild)."""
    _MEMORY.clear()


def _disk_key(path: Path, target_key: str, max_structures: int | None, spec: GraphSpec) -> str:
    stat = path.stat()
    ident = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
             "target_key": target_key, "max_structures": max_structures,
             "cutoff": spec.cutoff, "max_neighbors": spec.max_neighbors,
             "version": FEATURE_VERSION}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def _save_atomically(graphs: list[Data], target: Path) -> None:
    names = ("z", "adsorbate", "edge_index", "edge_dist", "y")
    payload = [{name: getattr(g, name) for name in names} for g in graphs]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(target: Path) -> list[Data]:
    payload = torch.load(target, weights_only=True)  # plain tensors only: safe to unpickle
    return [Data(**tensors, num_nodes=int(tensors["z"].numel())) for tensors in payload]


def load_graphs(dataset: str | os.PathLike[str], target_key: str = DEFAULT_TARGET_KEY,
                max_structures: int | None = None, spec: GraphSpec = GraphSpec(),
                disk_cache: bool = True) -> list[Data]:
    """Graphs of a named data set or user file: from memory, else disk, else built and cached."""
    path = resolve(dataset)
    disk_key = _disk_key(path, target_key, max_structures, spec)
    memory_key = (disk_key, spec.num_gaussians)
    if memory_key in _MEMORY:
        return _MEMORY[memory_key]
    candidates = _disk_locations(path, disk_key) if disk_cache else []
    cached = next((c for c in candidates if c.is_file()), None)
    if cached is not None:
        graphs = _with_edge_attr(_load(cached), spec)
    else:
        structures = read_structures(path, target_key=target_key, max_structures=max_structures)
        graphs = build_graphs(structures, spec)
        for target in candidates:
            try:
                _save_atomically(graphs, target)
                break
            except OSError:
                continue  # read-only folder: try the next; none only costs a rebuild later
    _MEMORY[memory_key] = graphs
    return graphs


def _disk_locations(path: Path, disk_key: str) -> list[Path]:
    # Next to the structures (a hidden file) so it travels with them, else the data cache.
    name = f".{path.name}.graphs-{disk_key}.pt"
    return [path.with_name(name), cache_dir() / "graphs" / name]
