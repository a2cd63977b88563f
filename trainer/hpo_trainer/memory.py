"""How much memory a trial config needs, estimated before anything is allocated.

The guide's search space reaches 100-wide embeddings, 40 graph convolutions and 40 fully
connected layers, and the guide "ran into memory issues on our 16GB GPUs". A trial that asks for
more than the device holds should fail at once, saying which keys made it too large, instead of
dying in the middle of an epoch with an out-of-memory error (or making a CPU host swap).

The estimate counts float32 tensors:

* the model's parameters four times over: the weights, their gradients and Adam's two moments;
* the activations one training batch keeps for the backward pass, for a batch of the
  ``batch_size`` largest training graphs: per ``CGConv`` layer the concatenated edge input
  ``[x_i, x_j, e]`` (``2F + D`` per edge), the gathered ``x_i`` and ``x_j`` and the five
  ``F``-wide edge tensors of the gated message (two linear outputs, sigmoid, softplus, product),
  and five ``F``-wide atom tensors (aggregate, batch norm, residual, softplus); the embedding and
  the fully connected layers are counted the same way;
* the training and validation graphs, kept on the device (:mod:`hpo_trainer.batching`).

It is an estimate of what the tensors hold, not a measurement: the allocator's caching and
torch's workspace come on top, which is why the default bound (``max_memory_gb``) is half of the
16 GB the guide's GPUs had.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch_geometric.data import Data

from .config import TrialConfig

FLOAT = 4  # bytes
GIB = 1024 ** 3
NUM_ELEMENTS = 119  # as in hpo_trainer.model: the embedding table's rows
SIZE_KEYS = ("atom_embedding_size", "num_graph_conv_layers", "fc_feat_size", "num_fc_layers",
             "batch_size")


def count_parameters(atom_embedding_size: int, num_graph_conv_layers: int, fc_feat_size: int,
                     num_fc_layers: int, edge_dim: int) -> int:
    """The learnable parameters of ``CGCNN`` with these sizes (equal to the model's own count)."""
    f, d, h = atom_embedding_size, edge_dim, fc_feat_size
    embeddings = (NUM_ELEMENTS + 2) * f  # elements, plus the adsorbate offsets
    conv = 2 * ((2 * f + d) * f + f) + 2 * f  # lin_f and lin_s, and the batch norm's affine
    fcs = (f * h + h) + (num_fc_layers - 1) * (h * h + h)
    return embeddings + num_graph_conv_layers * conv + fcs + h + 1


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a trial needs, by kind, and the largest batch they were counted for."""

    parameters: int
    parameter_bytes: int
    activation_bytes: int
    data_bytes: int
    batch_atoms: int
    batch_edges: int

    @property
    def total_bytes(self) -> int:
        return self.parameter_bytes + self.activation_bytes + self.data_bytes

    def describe(self) -> str:
        return (f"about {self.total_bytes / GIB:.2f} GiB: {self.parameters:,} parameters "
                f"({self.parameter_bytes / GIB:.2f} GiB with gradients and Adam's moments), "
                f"{self.activation_bytes / GIB:.2f} GiB of activations for a batch of the "
                f"largest graphs ({self.batch_atoms:,} atoms, {self.batch_edges:,} edges) and "
                f"{self.data_bytes / GIB:.2f} GiB of graphs")


def estimate(config: TrialConfig, graphs: list[Data]) -> MemoryEstimate:
    """What a trial of ``config`` training on ``graphs`` (its training split) needs."""
    c = config
    params = count_parameters(c.atom_embedding_size, c.num_graph_conv_layers, c.fc_feat_size,
                              c.num_fc_layers, c.num_gaussians)
    sizes = sorted(((int(g.num_nodes), int(g.edge_index.size(1))) for g in graphs),
                   key=lambda s: s[1], reverse=True)[:c.batch_size]
    atoms, edges = sum(s[0] for s in sizes), sum(s[1] for s in sizes)
    f, d, h = c.atom_embedding_size, c.num_gaussians, c.fc_feat_size
    per_conv = edges * (2 * f + d + 2 * f + 5 * f) + atoms * 5 * f
    readout = atoms * 2 * f + len(sizes) * (f + 2 * h * c.num_fc_layers + 1)
    activations = (c.num_graph_conv_layers * per_conv + readout) * FLOAT
    all_atoms = sum(int(g.num_nodes) for g in graphs)
    all_edges = sum(int(g.edge_index.size(1)) for g in graphs)
    # Everything on the device: train and validation (val_fraction of the whole) splits.
    scale = 1 / (1 - c.val_fraction)
    data = int(scale * (all_atoms * 2 * 8 + all_edges * (2 * 8 + d * FLOAT)))
    return MemoryEstimate(params, 4 * params * FLOAT, activations, data, atoms, edges)


class ConfigTooLarge(ValueError):
    """A trial config whose estimated memory is over its ``max_memory_gb``."""


def check_fits(config: TrialConfig, graphs: list[Data]) -> MemoryEstimate:
    """The estimate, when it is within ``config.max_memory_gb``.

    Raises:
        ConfigTooLarge: naming the size keys and their values, the estimate and the bound.
    """
    found = estimate(config, graphs)
    if found.total_bytes > config.max_memory_gb * GIB:
        keys = ", ".join(f"{k}={getattr(config, k)}" for k in SIZE_KEYS)
        raise ConfigTooLarge(
            f"trial config too large for max_memory_gb={config.max_memory_gb:g}: {keys} need "
            f"{found.describe()}. Lower those keys (the search space's bounds) or raise "
            "max_memory_gb where the device holds more")
    return found
