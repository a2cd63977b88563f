"""The CGCNN model on tiny hand-made graphs: shapes, repr, scaling, determinism, defaults."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re

import pytest
import torch
from hpo_trainer.config import ARCHITECTURE_KEYS, TrialConfig
from hpo_trainer.loops import predict
from hpo_trainer.model import CGCNN
from torch_geometric.data import Batch, Data


def _graph(num_nodes: int, num_edges: int, edge_dim: int = 8, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    return Data(
        z=torch.randint(1, 80, (num_nodes,), generator=g),
        adsorbate=torch.randint(0, 2, (num_nodes,), generator=g),
        edge_index=torch.randint(0, num_nodes, (2, num_edges), generator=g),
        edge_attr=torch.rand(num_edges, edge_dim, generator=g),
        y=torch.randn(1, generator=g),
        num_nodes=num_nodes,
    )


@pytest.mark.parametrize("layers", [1, 3])
def test_output_has_one_value_per_structure(layers: int) -> None:
    model = CGCNN(atom_embedding_size=16, num_graph_conv_layers=layers, fc_feat_size=8,
                  num_fc_layers=2, edge_dim=8)
    batch = Batch.from_data_list([_graph(4, 10), _graph(7, 20, seed=1), _graph(10, 30, seed=2)])
    assert predict(model, batch).shape == (3,)
    single = _graph(5, 12)
    assert model(single.z, single.edge_index, single.edge_attr).shape == (1,)


def test_repr_names_the_hyperparameters() -> None:
    model = CGCNN(32, 2, 64, 1, edge_dim=40)
    assert repr(model) == ("CGCNN(atom_embedding_size=32, num_graph_conv_layers=2, "
                           "fc_feat_size=64, num_fc_layers=1, edge_dim=40)")


def test_same_seed_same_predictions() -> None:
    batch = Batch.from_data_list([_graph(6, 15), _graph(9, 25, seed=3)])
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        model = CGCNN(16, 2, 16, 1, edge_dim=8).eval()
        outs.append(predict(model, batch))
    assert torch.equal(outs[0], outs[1])
    torch.manual_seed(8)
    assert not torch.equal(outs[0], predict(CGCNN(16, 2, 16, 1, edge_dim=8).eval(), batch))


def test_reset_parameters_reinitialises() -> None:
    torch.manual_seed(0)
    model = CGCNN(16, 2, 16, 1, edge_dim=8)
    before = [p.clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert torch.count_nonzero(model.adsorbate_embedding.weight) == 0


def test_target_scaling_is_applied() -> None:
    graph = _graph(5, 12)
    torch.manual_seed(0)
    model = CGCNN(16, 1, 16, 1, edge_dim=8).eval()
    raw = model(graph.z, graph.edge_index, graph.edge_attr)
    model.set_target_stats(mean=-1.0, std=2.0)
    scaled = model(graph.z, graph.edge_index, graph.edge_attr)
    assert torch.allclose(scaled, raw * 2.0 - 1.0)
    assert {"target_mean", "target_std"} <= set(model.state_dict())


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="num_graph_conv_layers must be at least 1, but got 0"):
        CGCNN(num_graph_conv_layers=0)


DECLARED = {f.name: f for f in dataclasses.fields(TrialConfig)}
SIGNATURE = inspect.signature(CGCNN).parameters


def test_defaults_are_the_trial_configs() -> None:
    assert {name: SIGNATURE[name].default for name in ARCHITECTURE_KEYS} == \
        {name: DECLARED[name].default for name in ARCHITECTURE_KEYS}
    assert SIGNATURE["edge_dim"].default == DECLARED["num_gaussians"].default
    model = CGCNN()
    assert all(getattr(model, name) == DECLARED[name].default for name in ARCHITECTURE_KEYS)


def test_documented_defaults_are_the_signatures() -> None:
    documented = re.findall(r"(\w+) \(\w+, optional\):.*?\(default: :obj:`([^`]*)`\)",
                            CGCNN.__doc__ or "", flags=re.DOTALL)
    assert {name for name, _ in documented} == set(SIGNATURE) - {"self"}
    for name, value in documented:
        assert ast.literal_eval(value) == SIGNATURE[name].default, name


@pytest.mark.parametrize("name", sorted(ARCHITECTURE_KEYS))
def test_sizes_below_the_declared_minimum_are_rejected(name: str) -> None:
    minimum = DECLARED[name].metadata["min"]
    with pytest.raises(ValueError, match=f"^CGCNN {name} must be at least {minimum}, but got "):
        CGCNN(**{name: minimum - 1})
