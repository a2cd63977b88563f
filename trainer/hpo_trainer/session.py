"""One training run of the CGCNN, without Ray: data split, model, optimiser, checkpoints.

:class:`TrainingSession` holds everything a trial needs and is what the Tune trainable delegates
to; :func:`train` runs it for a number of epochs as an ordinary training script would, for example
to replay a learning-rate schedule found by PBT (``lr_schedule`` in the config).

Reconfiguring (Tune's ``reset_config``) reuses the graphs, which are cached per process, and
keeps the model's weights when only algorithm hyperparameters change; any other change starts a
fresh, seeded model, so a trial gives the same result whether or not its actor was reused.

Before a model is built its memory is estimated (:mod:`hpo_trainer.memory`): a config over
``max_memory_gb`` is refused with :class:`~hpo_trainer.memory.ConfigTooLarge`. The graphs of
both splits are placed on the device once and batched there (:mod:`hpo_trainer.batching`). A
step that diverges reports :data:`~hpo_trainer.results.DIVERGED_VALUE` and ``done``
(:mod:`hpo_trainer.results`).
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from .batching import DeviceLoader, GraphStore
from .config import ARCHITECTURE_KEYS, DATA_KEYS, SPLIT_KEYS, TrialConfig
from .features import GraphSpec, load_graphs
from .loops import evaluate, train_epoch
from .memory import ConfigTooLarge, check_fits
from .model import CGCNN
from .results import DIVERGED_VALUE, step_result

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


def pick_device(requested: str | None) -> torch.device:
    """``requested`` as a device, or cuda when available and nothing was requested."""
    if requested is None or requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} was requested but CUDA is not available here")
    return device


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic train/validation index split of ``n`` structures."""
    n_val = round(n * val_fraction)
    if n_val < 1 or n - n_val < 1:
        raise ValueError(f"cannot split {n} structures with val_fraction={val_fraction}: "
                         "both splits need at least one structure")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def data_fingerprint(train: list[Data], val: list[Data]) -> str:
    """What a trial trains and validates on, as a short hash of the graphs' contents (atoms,
    edges, targets) in split order: equal whenever two runs saw the same data, whatever file
    or cache it came from."""
    digest = hashlib.sha256()
    for part in (train, val):
        digest.update(len(part).to_bytes(8, "little"))
        for graph in part:
            for tensor in (graph.x, graph.edge_index, graph.edge_attr, graph.y):
                if tensor is not None:
                    digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return "sha256:" + digest.hexdigest()[:32]


class TrainingSession:
    """The state of one trial: graphs, split, model, optimiser and progress counters."""

    def __init__(self, config: Mapping[str, Any] | TrialConfig) -> None:
        self.config = config if isinstance(config, TrialConfig) else TrialConfig.from_dict(config)
        self.iteration = 0  # completed step() calls; lr milestones count these
        self.epoch = 0
        self._apply_runtime()
        self._load_data()
        self._split()
        self._build_model()

    # -- building blocks -------------------------------------------------------------------
    def _apply_runtime(self) -> None:
        torch.set_num_threads(self.config.num_threads)
        # Saturated sigmoid/softplus gates produce denormal floats, which make CPU matmuls in
        # the backward pass about 5x slower; flushing them to zero costs no accuracy here.
        torch.set_flush_denormal(True)
        self.device = pick_device(self.config.device)

    def _load_data(self) -> None:
        c = self.config
        self.graphs: list[Data] = load_graphs(c.dataset, target_key=c.target_key,
                                              max_structures=c.max_structures,
                                              spec=GraphSpec.from_config(c))

    def _split(self) -> None:
        train_idx, val_idx = split_indices(len(self.graphs), self.config.val_fraction,
                                           self.config.seed)
        self.train_graphs = [self.graphs[i] for i in train_idx]
        self.val_graphs = [self.graphs[i] for i in val_idx]
        targets = torch.cat([g.y for g in self.train_graphs]).double()
        self.target_mean = float(targets.mean())
        std = float(targets.std()) if len(targets) > 1 else 0.0
        self.target_std = std if std > 1e-8 else 1.0  # a constant target still trains
        self.data_fingerprint = data_fingerprint(self.train_graphs, self.val_graphs)
        self._stores: tuple[GraphStore, GraphStore] | None = None

    def _place(self) -> None:
        """Both splits on the device (again only after a new split or another device)."""
        if self._stores is None or self._stores[0].device != self.device:
            self._stores = (GraphStore(self.train_graphs, self.device),
                            GraphStore(self.val_graphs, self.device))
            self.val_loader = DeviceLoader(self._stores[1], batch_size=256)

    def _build_model(self) -> None:
        c = self.config
        self.memory = check_fits(c, self.train_graphs)  # before anything is allocated
        self._place()
        torch.manual_seed(c.seed)  # same seed, same initial weights, whichever actor runs it
        self.model = CGCNN(c.atom_embedding_size, c.num_graph_conv_layers, c.fc_feat_size,
                           c.num_fc_layers, edge_dim=c.num_gaussians,
                           target_mean=self.target_mean, target_std=self.target_std)
        self.model.to(self.device)
        # One fused kernel per step on a GPU; the CPU keeps torch's default implementation.
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=c.lr,
                                          fused=True if self.device.type == "cuda" else None)
        self.scheduler: torch.optim.lr_scheduler.MultiStepLR | None = None
        if c.lr_schedule is not None:
            self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
                self.optimiser, milestones=list(c.lr_schedule.milestones),
                gamma=c.lr_schedule.gamma)
        self.generator = torch.Generator().manual_seed(c.seed)
        self.iteration = 0
        self.epoch = 0
        self._build_train_loader()

    def _build_train_loader(self) -> None:
        assert self._stores is not None
        self.train_loader = DeviceLoader(self._stores[0], batch_size=self.config.batch_size,
                                         shuffle=True, generator=self.generator)

    def scheduled_lr(self) -> float:
        """Learning rate for the next iteration: ``lr`` times ``gamma`` per passed milestone."""
        schedule = self.config.lr_schedule
        if schedule is None:
            return self.config.lr
        passed = bisect.bisect_right(schedule.milestones, self.iteration)
        return self.config.lr * schedule.gamma ** passed

    def _sync_lr(self) -> None:
        # After a reset or a restore the optimiser may carry another trial's lr: the config wins.
        lr = self.scheduled_lr()
        for group in self.optimiser.param_groups:
            group["lr"] = lr
        if self.scheduler is not None:
            self.scheduler.base_lrs = [self.config.lr for _ in self.optimiser.param_groups]
            self.scheduler.last_epoch = self.iteration

    # -- the trial API ---------------------------------------------------------------------
    def reconfigure(self, config: Mapping[str, Any] | TrialConfig,
                    keep_weights: bool = True) -> bool:
        """Switch to ``config`` without reloading data; returns whether the weights were kept.

        Weights (and optimiser state and counters) survive only when ``keep_weights`` is set and
        nothing but algorithm hyperparameters (``lr``, ``batch_size``, ``lr_schedule``,
        ``epochs_per_step``, ``num_threads``) changed.
        """
        new = config if isinstance(config, TrialConfig) else TrialConfig.from_dict(config)
        changed = new.differs_in(self.config)
        self.config = new
        self._apply_runtime()
        if changed & DATA_KEYS:
            self._load_data()
        if changed & (DATA_KEYS | SPLIT_KEYS):
            self._split()
        rebuild = changed & (DATA_KEYS | SPLIT_KEYS | ARCHITECTURE_KEYS | {"device"})
        if rebuild or not keep_weights:
            self._build_model()
            return False
        if "lr_schedule" in changed:
            self.scheduler = None if new.lr_schedule is None else \
                torch.optim.lr_scheduler.MultiStepLR(
                    self.optimiser, milestones=list(new.lr_schedule.milestones),
                    gamma=new.lr_schedule.gamma)
        self._sync_lr()
        if "batch_size" in changed:
            self.memory = check_fits(new, self.train_graphs)
            self._build_train_loader()
        return True

    def step(self) -> dict[str, Any]:
        """Train ``epochs_per_step`` epochs, then validate; returns the metrics of this step."""
        lr = self.optimiser.param_groups[0]["lr"]
        start = time.perf_counter()
        for _ in range(self.config.epochs_per_step):
            train_loss = train_epoch(self.model, self.train_loader, self.optimiser, self.device)
        epoch_time = (time.perf_counter() - start) / self.config.epochs_per_step
        self.epoch += self.config.epochs_per_step
        metrics = evaluate(self.model, self.val_loader, self.device)
        self.iteration += 1
        if self.scheduler is not None:
            self.scheduler.step()
        return step_result(train_loss, metrics, {
            "lr": lr,
            "epoch": self.epoch,
            "epoch_time_s": epoch_time,
            "device": str(self.device),
            "num_params": sum(p.numel() for p in self.model.parameters()),
            "num_train": len(self.train_graphs),
            "num_val": len(self.val_graphs),
            "dataset_fingerprint": self.data_fingerprint,
        })

    def architecture(self) -> dict[str, int]:
        return {key: getattr(self.config, key) for key in sorted(ARCHITECTURE_KEYS)}

    def state_dict(self) -> dict[str, Any]:
        """Model, optimiser and counters: what PBT's exploit and Tune's pause need."""
        return {
            "format": CHECKPOINT_FORMAT,
            "architecture": self.architecture(),
            "model": self.model.state_dict(),
            "optimiser": self.optimiser.state_dict(),
            "iteration": self.iteration,
            "epoch": self.epoch,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the current config's ``lr`` stays in force."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unsupported checkpoint format {state.get('format')!r}")
        if state["architecture"] != self.architecture():
            raise ValueError(
                f"checkpoint architecture {state['architecture']} differs from the config's "
                f"{self.architecture()}: only lr and batch_size may change between a checkpoint "
                "and the trial restoring it (PBT must not mutate model hyperparameters)")
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.iteration = int(state["iteration"])
        self.epoch = int(state["epoch"])
        self.generator.set_state(state["generator"])
        self._sync_lr()

    def save(self, path: str | Path) -> None:
        torch.save(self.state_dict(), path)

    def load(self, path: str | Path) -> None:
        self.load_state_dict(torch.load(path, map_location=self.device, weights_only=True))


def train(config: Mapping[str, Any], epochs: int,
          checkpoint_path: str | Path | None = None) -> list[dict[str, Any]]:
    """Train a CGCNN for ``epochs`` epochs without Ray; returns one metrics dict per step.

    Steps run ``epochs_per_step`` epochs each (default 1), so ``lr_schedule`` milestones, counted
    in steps, mean the same here as in a Tune trial; a step that diverged is the last. With
    ``checkpoint_path`` the final state is saved there (:meth:`TrainingSession.save`).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, but got {epochs}")
    session = TrainingSession(config)
    steps = math.ceil(epochs / session.config.epochs_per_step)
    history = []
    for _ in range(steps):
        result = session.step()
        history.append(result)
        logger.info("step %d: val_mae=%.4f eV train_loss=%.4f lr=%.2e", session.iteration,
                    result["val_mae"], result["train_loss"], result["lr"])
        if result["diverged"]:
            break
    if checkpoint_path is not None:
        session.save(checkpoint_path)
    return history


__all__ = ["DIVERGED_VALUE", "ConfigTooLarge", "TrainingSession", "TrialConfig",
           "data_fingerprint", "pick_device", "split_indices", "train"]
