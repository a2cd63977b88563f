"""Periodic crystal graphs: neighbour search, edge features and the per-process graph cache."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.build import bulk, fcc111, molecule
from ase.neighborlist import neighbor_list
from hpo_trainer import features
from hpo_trainer.config import TrialConfig
from hpo_trainer.features import (
    GaussianSmearing,
    GraphSpec,
    adsorbate_mask,
    atoms_to_graph,
    load_graphs,
    neighbor_pairs,
)

from .conftest import TINY

DECLARED = {f.name: f for f in dataclasses.fields(TrialConfig)}
SPEC_KEYS = [f.name for f in dataclasses.fields(GraphSpec)]


def _edge_set(graph) -> set[tuple[int, int]]:
    return set(map(tuple, graph.edge_index.t().tolist()))


def test_single_atom_cell_has_periodic_neighbours() -> None:
    # One atom per cell: every neighbour is a periodic image of the atom itself.
    cu = bulk("Cu", "fcc", a=3.6)
    i, j, d = neighbor_pairs(cu, cutoff=3.0)
    assert len(i) == 12 and (j == 0).all()
    assert np.allclose(d, 3.6 / np.sqrt(2))


@pytest.mark.parametrize("atoms", [
    bulk("Cu", "fcc", a=3.6, cubic=True),
    fcc111("Pt", (2, 2, 3), vacuum=6.0),
    molecule("CH4"),
], ids=["bulk", "slab", "molecule"])
def test_neighbours_match_ase(atoms) -> None:
    atoms = atoms.copy()
    atoms.rattle(0.05, seed=1)
    i, _, d = neighbor_pairs(atoms, cutoff=6.0)
    ref_i, _, ref_d = neighbor_list("ijd", atoms, 6.0)
    order = np.lexsort((ref_d, ref_i))
    assert np.array_equal(i, ref_i[order])
    assert np.allclose(d, ref_d[order], atol=1e-6)
    assert (d <= 6.0).all() and (d > 0).all()


def test_full_graph_is_symmetric(tiny_structures) -> None:
    atoms = tiny_structures.structures[0]
    graph = atoms_to_graph(atoms, 0.0, GraphSpec(cutoff=6.0, max_neighbors=None))
    edges = _edge_set(graph)
    assert edges == {(b, a) for a, b in edges}
    # Periodic images make (many) repeated pairs: count them with multiplicity too.
    forward = torch.sort(graph.edge_index[0] * 1000 + graph.edge_index[1]).values
    backward = torch.sort(graph.edge_index[1] * 1000 + graph.edge_index[0]).values
    assert torch.equal(forward, backward)
    assert float(graph.edge_dist.max()) <= 6.0


def test_max_neighbors_caps_in_degree(tiny_structures) -> None:
    graph = atoms_to_graph(tiny_structures.structures[0], 0.0, GraphSpec(max_neighbors=12))
    in_degree = torch.bincount(graph.edge_index[1], minlength=graph.num_nodes)
    assert (in_degree == 12).all()


def test_graph_fields_and_adsorbate_flag(tiny_structures) -> None:
    atoms = tiny_structures.structures[0]
    graph = atoms_to_graph(atoms, -0.3)
    assert graph.z.tolist() == atoms.numbers.tolist()
    assert graph.adsorbate.tolist() == adsorbate_mask(atoms).astype(int).tolist()
    assert int(graph.adsorbate.sum()) in (1, 2) and graph.y.tolist() == [pytest.approx(-0.3)]
    assert adsorbate_mask(bulk("Cu")).tolist() == [False]  # untagged: no adsorbate marker


def test_gaussian_smearing_shape_and_peak() -> None:
    smearing = GaussianSmearing(0.0, 6.0, 25)
    out = smearing(torch.tensor([0.0, 3.0, 6.0]))
    assert out.shape == (3, 25)
    assert out.argmax(dim=1).tolist() == [0, 12, 24]
    assert torch.allclose(out.max(dim=1).values, torch.ones(3))


def test_graphs_are_cached_in_memory_and_on_disk(tiny_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    features.clear_memory_cache()
    first = load_graphs(TINY)
    assert first[0].edge_attr.shape == (first[0].num_edges, GraphSpec().num_gaussians)
    assert load_graphs(TINY) is first  # same process: the very same list
    assert list(tiny_path.parent.glob(f".{tiny_path.name}.graphs-*.pt"))

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("structures were read again despite the disk cache")

    monkeypatch.setattr(features, "read_structures", no_read)
    features.clear_memory_cache()
    again = load_graphs(TINY)  # a new process would take this path
    assert len(again) == len(first)
    assert torch.equal(again[3].edge_index, first[3].edge_index)
    assert torch.allclose(again[3].edge_attr, first[3].edge_attr)
    # Other featurisation parameters are another cache entry.
    assert load_graphs(TINY, spec=GraphSpec(num_gaussians=20))[0].edge_attr.shape[1] == 20


def test_spec_defaults_are_the_trial_configs() -> None:
    assert set(SPEC_KEYS) <= set(DECLARED)
    assert dataclasses.asdict(GraphSpec()) == {k: DECLARED[k].default for k in SPEC_KEYS}
    smearing = inspect.signature(GaussianSmearing).parameters
    assert smearing["stop"].default == DECLARED["cutoff"].default
    assert smearing["num_gaussians"].default == DECLARED["num_gaussians"].default
    config = TrialConfig.from_dict({"cutoff": 5.0, "num_gaussians": 8, "max_neighbors": None})
    assert GraphSpec.from_config(config) == GraphSpec(5.0, 8, None)


@pytest.mark.parametrize("name", SPEC_KEYS)
def test_spec_follows_the_declared_rules(name: str) -> None:
    rule = DECLARED[name].metadata
    rejected = rule["min"] - 1 if "min" in rule else rule["above"]
    with pytest.raises(ValueError, match=f"^{name} must be .*, but got {rejected}"):
        GraphSpec(**{name: rejected})
