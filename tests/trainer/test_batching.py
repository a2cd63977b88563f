"""Batches made on the device are torch-geometric's batches, and training on them gives the
results the per-batch host loop gave, to the bit (on CPU, one thread)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hpo_trainer.batching import DeviceLoader, GraphStore
from hpo_trainer.model import CGCNN
from hpo_trainer.session import TrainingSession
from torch_geometric.loader import DataLoader

from .conftest import TINY

SMALL = {"dataset": TINY, "atom_embedding_size": 16, "num_graph_conv_layers": 2,
         "fc_feat_size": 32, "num_fc_layers": 1, "batch_size": 16, "lr": 0.01}
FIELDS = ("z", "adsorbate", "edge_index", "edge_attr", "batch", "y")


def test_device_batches_are_torch_geometric_batches() -> None:
    graphs = TrainingSession(SMALL).train_graphs
    pyg = DataLoader(graphs, batch_size=16, shuffle=True,
                     generator=torch.Generator().manual_seed(3))
    ours = DeviceLoader(GraphStore(graphs, torch.device("cpu")), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(3))
    assert len(ours) == len(pyg)
    for _ in range(2):  # the second epoch's shuffle too: the generator is drawn alike
        for a, b in zip(pyg, ours, strict=True):
            assert a.num_graphs == b.num_graphs
            for name in FIELDS:
                assert torch.equal(getattr(a, name), getattr(b, name)), name


def host_loop(config: dict, epochs: int) -> list[tuple[float, float]]:
    """The training loop as it was: torch-geometric loaders, a float() per batch."""
    session = TrainingSession(config)
    c = session.config
    torch.manual_seed(c.seed)
    model = CGCNN(c.atom_embedding_size, c.num_graph_conv_layers, c.fc_feat_size,
                  c.num_fc_layers, edge_dim=c.num_gaussians, target_mean=session.target_mean,
                  target_std=session.target_std)
    optimiser = torch.optim.Adam(model.parameters(), lr=c.lr)
    train = DataLoader(session.train_graphs, batch_size=c.batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(c.seed))
    history = []
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for b in train:
            optimiser.zero_grad(set_to_none=True)
            pred = model(b.z, b.edge_index, b.edge_attr, b.batch, b.adsorbate)
            loss = F.mse_loss(pred / model.target_std, b.y / model.target_std)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * b.num_graphs
            count += b.num_graphs
        model.eval()
        abs_sum = 0.0
        with torch.no_grad():
            for b in DataLoader(session.val_graphs, batch_size=256):
                pred = model(b.z, b.edge_index, b.edge_attr, b.batch, b.adsorbate)
                abs_sum += float((pred - b.y).abs().sum())
        history.append((total / count, abs_sum / len(session.val_graphs)))
    return history


def test_training_on_device_batches_gives_the_host_loops_results() -> None:
    session = TrainingSession(SMALL)
    ours = [(r["train_loss"], r["val_mae"]) for r in (session.step() for _ in range(3))]
    assert ours == host_loop(SMALL, 3)  # exactly: same batches, same sums in float64
