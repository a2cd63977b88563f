"""The crystal graph convolutional network (CGCNN) used as the example workload."""

from __future__ import annotations

import itertools
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import CGConv, global_mean_pool

from .config import TrialConfig, check

# Atomic numbers index the embedding table directly: 0 is unused, 118 is oganesson.
NUM_ELEMENTS = 119
# The model's defaults are the trial config's (edge_dim: its num_gaussians).
_DEFAULTS = TrialConfig()


class CGCNN(nn.Module):
    r"""The crystal graph convolutional neural network from the `"Crystal Graph Convolutional
    Neural Networks for an Accurate and Interpretable Prediction of Material Properties"
    <https://journals.aps.org/prl/abstract/10.1103/PhysRevLett.120.145301>`_ paper
    (Xie & Grossman, 2018), predicting one scalar per structure.

    Atoms are embedded from their atomic number (plus a learned offset for adsorbate atoms),
    updated by ``num_graph_conv_layers`` :class:`~torch_geometric.nn.conv.CGConv` layers with
    batch normalisation, each followed by a softplus as in the paper

    .. math::
        \mathbf{x}^{(l+1)}_i = g\left(\mathbf{x}^{(l)}_i + \mathrm{BN}\left(\sum_{j}
        \sigma(\mathbf{z}_{ij}\mathbf{W}_f + \mathbf{b}_f) \odot
        g(\mathbf{z}_{ij}\mathbf{W}_s + \mathbf{b}_s)\right)\right),

    mean-pooled per structure, and read out by ``num_fc_layers`` fully connected softplus
    layers of width ``fc_feat_size`` and a final linear layer. The output is de-normalised,
    ``out * target_std + target_mean``, so the network learns a unit-scale target while
    predictions come out in physical units (eV).

    Args:
        atom_embedding_size (int, optional): Width of the atom features, kept through all
            convolutions. (default: :obj:`64`)
        num_graph_conv_layers (int, optional): Number of ``CGConv`` layers. (default: :obj:`3`)
        fc_feat_size (int, optional): Width of the fully connected layers. (default: :obj:`128`)
        num_fc_layers (int, optional): Number of hidden fully connected layers after pooling.
            (default: :obj:`2`)
        edge_dim (int, optional): Size of the edge features (the Gaussian expansion of bond
            lengths). (default: :obj:`40`)
        target_mean (float, optional): Mean of the training targets. (default: :obj:`0.0`)
        target_std (float, optional): Standard deviation of the training targets.
            (default: :obj:`1.0`)

    Shapes:
        - **input:** atomic numbers :math:`(|\mathcal{V}|)`, edge indices
          :math:`(2, |\mathcal{E}|)`, edge features :math:`(|\mathcal{E}|, D)`, batch vector
          :math:`(|\mathcal{V}|)` *(optional)*, adsorbate flags :math:`(|\mathcal{V}|)`
          *(optional)*
        - **output:** :math:`(B)` with :math:`B` structures in the batch
    """

    target_mean: Tensor
    target_std: Tensor

    def __init__(self, atom_embedding_size: int = _DEFAULTS.atom_embedding_size,
                 num_graph_conv_layers: int = _DEFAULTS.num_graph_conv_layers,
                 fc_feat_size: int = _DEFAULTS.fc_feat_size,
                 num_fc_layers: int = _DEFAULTS.num_fc_layers,
                 edge_dim: int = _DEFAULTS.num_gaussians,
                 target_mean: float = 0.0, target_std: float = 1.0) -> None:
        super().__init__()
        try:  # the sizes follow the rules of the trial config's keys of the same names
            for name, value in (("atom_embedding_size", atom_embedding_size),
                                ("num_graph_conv_layers", num_graph_conv_layers),
                                ("fc_feat_size", fc_feat_size), ("num_fc_layers", num_fc_layers)):
                check(name, value)
        except ValueError as error:
            raise ValueError(f"CGCNN {error}") from None
        if edge_dim < 1:
            raise ValueError(f"CGCNN edge_dim must be at least 1, but got {edge_dim}")
        if target_std <= 0:
            raise ValueError(f"CGCNN target_std must be positive, but got {target_std}")
        self.atom_embedding_size = atom_embedding_size
        self.num_graph_conv_layers = num_graph_conv_layers
        self.fc_feat_size = fc_feat_size
        self.num_fc_layers = num_fc_layers
        self.edge_dim = edge_dim

        self.embedding = nn.Embedding(NUM_ELEMENTS, atom_embedding_size)
        self.adsorbate_embedding = nn.Embedding(2, atom_embedding_size)
        self.convs = nn.ModuleList(
            CGConv(atom_embedding_size, dim=edge_dim, batch_norm=True)
            for _ in range(num_graph_conv_layers))
        widths = [atom_embedding_size] + [fc_feat_size] * num_fc_layers
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.out = nn.Linear(fc_feat_size, 1)
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Resets all learnable parameters of the module."""
        self.embedding.reset_parameters()
        # Adsorbate offsets start at zero: the element embedding alone is a sensible start.
        nn.init.zeros_(self.adsorbate_embedding.weight)
        for conv in self.convs:
            cast(CGConv, conv).reset_parameters()
        for fc in self.fcs:
            cast(nn.Linear, fc).reset_parameters()
        self.out.reset_parameters()

    def set_target_stats(self, mean: float, std: float) -> None:
        """Sets the target scaling (from the training split) used to de-normalise outputs."""
        if std <= 0:
            raise ValueError(f"target std must be positive, but got {std}")
        self.target_mean.fill_(float(mean))
        self.target_std.fill_(float(std))

    def forward(self, z: Tensor, edge_index: Tensor, edge_attr: Tensor,
                batch: Tensor | None = None, adsorbate: Tensor | None = None,
                num_graphs: int | None = None) -> Tensor:
        """Predicts one value per structure, in the units of the targets.

        ``num_graphs`` (the number of structures in ``batch``) spares the pooling a look at
        ``batch.max()``, which on a GPU waits for every queued kernel to finish.
        """
        x = self.embedding(z)
        if adsorbate is not None:
            x = x + self.adsorbate_embedding(adsorbate)
        for conv in self.convs:
            x = F.softplus(conv(x, edge_index, edge_attr))
        if batch is None:
            batch, num_graphs = torch.zeros_like(z), 1
        h = global_mean_pool(x, batch, size=num_graphs)
        for fc in self.fcs:
            h = F.softplus(fc(h))
        return self.out(h).view(-1) * self.target_std + self.target_mean

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(atom_embedding_size={self.atom_embedding_size}, "
                f"num_graph_conv_layers={self.num_graph_conv_layers}, "
                f"fc_feat_size={self.fc_feat_size}, num_fc_layers={self.num_fc_layers}, "
                f"edge_dim={self.edge_dim})")
