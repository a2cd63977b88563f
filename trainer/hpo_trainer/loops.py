"""One training epoch and one evaluation pass over a PyG loader.

The loss is the mean squared error on targets divided by the model's ``target_std`` (set from the
training split), so the same learning rates work whatever the energy scale of the data set; the
reported errors are in the targets' own units (eV).

Nothing here waits for the device inside the loop: the sums are kept on the device, in float64,
and read once at the end of the pass. (A ``float(loss)`` per batch would make the host wait for
each batch's kernels before it queues the next.) The float64 sums are the ones a per-batch
``float()`` accumulated on the host, in the same order, so the results are the same to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch

from .batching import DeviceBatch
from .model import CGCNN

# A torch-geometric DataLoader or a DeviceLoader: anything that yields batches.
Loader = Iterable[Batch | DeviceBatch]


def predict(model: CGCNN, batch: Batch | DeviceBatch) -> Tensor:
    """Model output (eV) for one collated batch."""
    return model(batch.z, batch.edge_index, batch.edge_attr, batch.batch, batch.adsorbate,
                 num_graphs=batch.num_graphs)


def _normalised_mse(model: CGCNN, pred: Tensor, target: Tensor) -> Tensor:
    return F.mse_loss(pred / model.target_std, target / model.target_std)


def train_epoch(model: CGCNN, loader: Loader, optimiser: torch.optim.Optimizer,
                device: torch.device | str) -> float:
    """Trains ``model`` for one pass over ``loader``; returns the mean normalised MSE."""
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for batch in loader:
        batch = batch.to(device)
        optimiser.zero_grad(set_to_none=True)
        loss = _normalised_mse(model, predict(model, batch), batch.y)
        loss.backward()
        optimiser.step()
        total += loss.detach().double() * batch.num_graphs
        count += batch.num_graphs
    if count == 0:
        raise ValueError("train_epoch got an empty loader")
    return float(total) / count


@torch.no_grad()
def evaluate(model: CGCNN, loader: Loader, device: torch.device | str) -> dict[str, float]:
    """Errors of ``model`` over ``loader``.

    Returns:
        ``mae`` and ``rmse`` in the targets' units (eV), ``loss`` (normalised MSE, comparable
        with :func:`train_epoch`) and ``count`` (number of structures).
    """
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # |err|, err^2, loss x graphs
    count = 0
    for batch in loader:
        batch = batch.to(device)
        pred = predict(model, batch)
        err = pred - batch.y
        sums += torch.stack([err.abs().sum().double(), err.pow(2).sum().double(),
                             _normalised_mse(model, pred, batch.y).double() * batch.num_graphs])
        count += batch.num_graphs
    if count == 0:
        raise ValueError("evaluate got an empty loader")
    abs_sum, sq_sum, loss_sum = sums.tolist()  # the pass's one wait for the device
    return {"mae": abs_sum / count, "rmse": math.sqrt(sq_sum / count), "loss": loss_sum / count,
            "count": float(count)}
