"""Batches gathered on the device from graphs placed there once.

torch-geometric's ``DataLoader`` collates every batch on the host, graph by graph, and the batch
is then copied to the device: a few milliseconds of Python and a host-to-device copy per batch,
which on a GPU cost more than the CGCNN's own step on graphs this small. A :class:`DeviceLoader`
instead keeps one split concatenated on the device (:class:`GraphStore`). Each epoch it plans
every batch on the host at once - which graphs, and the gather indices of their atoms and edges -
and copies that plan over in one transfer; a batch is then a handful of gathers on the device,
with no host synchronisation.

The batches are the ones torch-geometric's loader would make: the same shuffle (an index loader
draws from the same generator in the same way, seed included), the same graph order, the same
tensors (``edge_index`` offset by the atoms before each graph, ``batch`` the graph of each atom),
so a trial's results do not depend on which loader ran it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader as IndexLoader
from torch_geometric.data import Data


class DeviceBatch(NamedTuple):
    """What the model needs of a collated batch (the fields of a torch-geometric ``Batch``)."""

    z: Tensor
    adsorbate: Tensor
    edge_index: Tensor
    edge_attr: Tensor
    batch: Tensor
    y: Tensor
    num_graphs: int

    def to(self, device: torch.device | str) -> DeviceBatch:
        """Already there: the tensors come back unchanged, as ``Tensor.to`` returns them."""
        return self._replace(**{k: getattr(self, k).to(device) for k in self._fields[:-1]})


class GraphStore:
    """One split's graphs concatenated once on ``device``, with their sizes kept on the host."""

    def __init__(self, graphs: list[Data], device: torch.device) -> None:
        if not graphs:
            raise ValueError("a GraphStore needs at least one graph")
        self.device = device
        self.num_nodes = np.array([int(g.num_nodes) for g in graphs], dtype=np.int64)
        self.num_edges = np.array([int(g.edge_index.size(1)) for g in graphs], dtype=np.int64)
        self.node_start = np.concatenate([[0], np.cumsum(self.num_nodes)[:-1]])
        self.edge_start = np.concatenate([[0], np.cumsum(self.num_edges)[:-1]])
        # Each graph's own (local) atom indices, on the host: batches are planned there.
        self.local_edges = torch.cat([g.edge_index for g in graphs], dim=1).numpy()
        self.z = torch.cat([g.z for g in graphs]).to(device)
        self.adsorbate = torch.cat([g.adsorbate for g in graphs]).to(device)
        self.edge_attr = torch.cat([g.edge_attr for g in graphs]).to(device)
        self.y = torch.cat([g.y for g in graphs]).to(device)

    def __len__(self) -> int:
        return len(self.num_nodes)

    def plan(self, batches: list[list[int]]) -> list[DeviceBatch]:
        """The device batches of ``batches`` (lists of graph indices), with one transfer."""
        ids = np.concatenate([np.asarray(b, dtype=np.int64) for b in batches])
        nodes, edges = self.num_nodes[ids], self.num_edges[ids]
        node_idx = _ranges(self.node_start[ids], nodes)
        edge_idx = _ranges(self.edge_start[ids], edges)
        # Per batch: the graph of each atom, and each edge shifted by the atoms before its graph.
        sizes = np.array([len(b) for b in batches])
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        position = np.arange(len(ids)) - np.repeat(first, sizes)
        graph_of_node = np.repeat(position, nodes)
        atoms_before = np.cumsum(nodes) - nodes
        before = atoms_before - np.repeat(atoms_before[first], sizes)
        edge_index = self.local_edges[:, edge_idx] + np.repeat(before, edges)
        host = torch.from_numpy(np.concatenate([ids, node_idx, edge_idx, graph_of_node,
                                                edge_index.reshape(-1)]))
        if self.device.type == "cuda":
            host = host.pin_memory()
        plan = host.to(self.device, non_blocking=True)
        n, v, e = len(ids), len(node_idx), len(edge_idx)
        ids_d, node_d, edge_d, graph_d = (plan[:n], plan[n:n + v], plan[n + v:n + v + e],
                                          plan[n + v + e:n + 2 * v + e])
        index_d = plan[n + 2 * v + e:].view(2, e)
        return list(self._batches(sizes, nodes, edges, ids_d, node_d, edge_d, graph_d, index_d))

    def _batches(self, sizes: np.ndarray, nodes: np.ndarray, edges: np.ndarray, ids: Tensor,
                 node_idx: Tensor, edge_idx: Tensor, graph_of_node: Tensor,
                 edge_index: Tensor) -> Iterator[DeviceBatch]:
        g = v = e = 0
        for size in sizes.tolist():
            dv, de = int(nodes[g:g + size].sum()), int(edges[g:g + size].sum())
            atoms, bonds = node_idx[v:v + dv], edge_idx[e:e + de]
            yield DeviceBatch(z=self.z[atoms], adsorbate=self.adsorbate[atoms],
                              edge_index=edge_index[:, e:e + de], edge_attr=self.edge_attr[bonds],
                              batch=graph_of_node[v:v + dv], y=self.y[ids[g:g + size]],
                              num_graphs=size)
            g, v, e = g + size, v + dv, e + de


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(range(s, s + n) for s, n in zip(starts, lengths))``, vectorised."""
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + offsets


class DeviceLoader:
    """Batches of a :class:`GraphStore` in torch-geometric ``DataLoader`` order.

    With ``shuffle`` the order is drawn from ``generator`` exactly as a ``DataLoader`` with the
    same ``batch_size``, ``shuffle`` and ``generator`` draws it, so the two loaders give the same
    batches from the same generator state. Without it, the plan is made once and kept.
    """

    def __init__(self, store: GraphStore, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None) -> None:
        self.store = store
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._indices = IndexLoader(range(len(store)), batch_size=batch_size, shuffle=shuffle,
                                    generator=generator, collate_fn=list)
        self._fixed: list[DeviceBatch] | None = None

    def __len__(self) -> int:
        return len(self._indices)

    def __iter__(self) -> Iterator[DeviceBatch]:
        if not self.shuffle:
            if self._fixed is None:
                self._fixed = self.store.plan(list(self._indices))
            return iter(self._fixed)
        return iter(self.store.plan(list(self._indices)))
