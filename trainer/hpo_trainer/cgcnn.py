"""The Ray Tune class trainable of the example workload: ``hpo_trainer.cgcnn:CGCNNTrainable``.

A thin adapter over :class:`~hpo_trainer.session.TrainingSession`, written for the practices of
the HPO-at-scale guide:

* ``reset_config`` is implemented, so campaigns can run with ``reuse_actors=True``: a reused actor
  keeps its process-level graph cache and only rebuilds the model and optimiser;
* ``save_checkpoint``/``load_checkpoint`` write one small torch file (model, optimiser,
  counters): PBT's exploit needs them and Tune calls them when it pauses trials, e.g. at the end
  of a time budget, but nothing here checkpoints unless Tune asks;
* the device is logged once per trial and reported in every result.

Config keys (see :class:`~hpo_trainer.config.TrialConfig`): the six hyperparameters ``lr``,
``batch_size``, ``atom_embedding_size``, ``num_graph_conv_layers``, ``fc_feat_size``,
``num_fc_layers``; and ``dataset``, ``seed``, ``val_fraction``, ``max_structures``,
``epochs_per_step``, ``lr_schedule``, ``device``, ``num_threads``, ``max_memory_gb``,
``target_key``, ``cutoff``, ``num_gaussians``, ``max_neighbors``. Each step reports ``val_mae``
(eV, the objective), ``val_rmse``, ``val_loss``, ``train_loss``, ``lr``, ``epoch``,
``epoch_time_s``, ``diverged``, ``device``, ``num_params``, ``num_train``, ``num_val`` and
``dataset_fingerprint`` (a hash of the graphs trained and validated on, which ``hpo reproduce``
compares). A diverged step reports the finite ``DIVERGED_VALUE`` and ``done`` (the trial ends);
a config over ``max_memory_gb`` fails in ``setup`` with ``ConfigTooLarge``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray import tune

from .session import TrainingSession, train

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "cgcnn_state.pt"

__all__ = ["CHECKPOINT_FILE", "CGCNNTrainable", "train"]


class CGCNNTrainable(tune.Trainable):
    """CGCNN regression of adsorption energies, one epoch (``epochs_per_step``) per step."""

    session: TrainingSession

    def setup(self, config: dict[str, Any]) -> None:
        self.session = TrainingSession(config)
        # Whose weights the model holds: a reused actor must not pass them to another trial.
        self._weights_owner = self.trial_id
        self._log_device()

    def _log_device(self) -> None:
        c = self.session.config
        logger.info("trial %s: CGCNN on device %s (%d torch threads), %d train / %d val "
                    "structures from %s", self.trial_id, self.session.device, c.num_threads,
                    len(self.session.train_graphs), len(self.session.val_graphs), c.dataset)

    def step(self) -> dict[str, Any]:
        return self.session.step()

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Adopt ``new_config`` in this actor without reloading data.

        The weights survive only for the same trial with changes limited to algorithm
        hyperparameters (``lr``, ``batch_size``, ...). When Tune hands the actor to another
        trial, the model starts fresh from the seed, as if the actor were new. (In Ray 2.60
        PBT's exploit resets the actor and then restores the cloned checkpoint, which replaces
        the weights either way.)
        """
        same_trial = self.trial_id == self._weights_owner
        self.session.reconfigure(new_config, keep_weights=same_trial)
        if not same_trial:
            self._weights_owner = self.trial_id
            self._log_device()
        return True

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        # Returning None tells Tune the checkpoint is the folder; load_checkpoint gets it back.
        self.session.save(Path(checkpoint_dir) / CHECKPOINT_FILE)

    def load_checkpoint(
            self, checkpoint: Mapping[str, Any] | str | os.PathLike[str] | None) -> None:
        """Restore from a folder written by :meth:`save_checkpoint` or from a state dict."""
        if checkpoint is None:
            raise ValueError("load_checkpoint needs a checkpoint folder or state dict, got None")
        if isinstance(checkpoint, Mapping):
            self.session.load_state_dict(checkpoint)
        else:
            self.session.load(Path(checkpoint) / CHECKPOINT_FILE)
