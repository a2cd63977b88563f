"""One training epoch and one evaluation pass over a PyG loader.

The loss is the mean squared error on targets divided by the model's ``target_std`` (set from the
training split), so the same learning rates work whatever the energy scale of the data set; the
reported errors are in the targets' own units (eV).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from .model import CGCNN


def predict(model: CGCNN, batch: Batch) -> Tensor:
    """Model output (eV) for one collated batch."""
    return model(batch.z, batch.edge_index, batch.edge_attr, batch.batch, batch.adsorbate)


def _normalised_mse(model: CGCNN, pred: Tensor, target: Tensor) -> Tensor:
    return F.mse_loss(pred / model.target_std, target / model.target_std)


def train_epoch(model: CGCNN, loader: DataLoader, optimiser: torch.optim.Optimizer,
                device: torch.device | str) -> float:
    """Trains ``model`` for one pass over ``loader``; returns the mean normalised MSE."""
    model.train()
    total, count = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        optimiser.zero_grad(set_to_none=True)
        loss = _normalised_mse(model, predict(model, batch), batch.y)
        loss.backward()
        optimiser.step()
        total += float(loss.detach()) * batch.num_graphs
        count += batch.num_graphs
    if count == 0:
        raise ValueError("train_epoch got an empty loader")
    return total / count


@torch.no_grad()
def evaluate(model: CGCNN, loader: DataLoader, device: torch.device | str) -> dict[str, float]:
    """Errors of ``model`` over ``loader``.

    Returns:
        ``mae`` and ``rmse`` in the targets' units (eV), ``loss`` (normalised MSE, comparable
        with :func:`train_epoch`) and ``count`` (number of structures).
    """
    model.eval()
    abs_sum, sq_sum, loss_sum, count = 0.0, 0.0, 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        pred = predict(model, batch)
        err = pred - batch.y
        abs_sum += float(err.abs().sum())
        sq_sum += float(err.pow(2).sum())
        loss_sum += float(_normalised_mse(model, pred, batch.y)) * batch.num_graphs
        count += batch.num_graphs
    if count == 0:
        raise ValueError("evaluate got an empty loader")
    return {"mae": abs_sum / count, "rmse": math.sqrt(sq_sum / count), "loss": loss_sum / count,
            "count": float(count)}
