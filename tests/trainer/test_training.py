"""The training loops and the Ray-free training session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hpo_trainer.session import TrainingSession, split_indices, train

from .conftest import TINY

SMALL = {"dataset": TINY, "atom_embedding_size": 16, "num_graph_conv_layers": 2,
         "fc_feat_size": 32, "num_fc_layers": 1, "batch_size": 16, "lr": 0.01}


def test_split_is_deterministic_and_disjoint() -> None:
    train_a, val_a = split_indices(100, 0.2, seed=1)
    train_b, val_b = split_indices(100, 0.2, seed=1)
    assert np.array_equal(train_a, train_b) and np.array_equal(val_a, val_b)
    assert len(val_a) == 20 and not set(train_a) & set(val_a)
    assert not np.array_equal(val_a, split_indices(100, 0.2, seed=2)[1])


def test_short_training_run_lowers_the_loss() -> None:
    history = train({**SMALL, "lr": 0.005}, epochs=6)
    assert len(history) == 6
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_mae"] < history[0]["val_mae"]
    assert history[-1]["epoch"] == 6 and history[0]["device"] == "cpu"


def test_same_seed_same_first_epoch() -> None:
    first = [TrainingSession(SMALL).step() for _ in range(2)]
    assert first[0]["train_loss"] == first[1]["train_loss"]
    assert first[0]["val_mae"] == first[1]["val_mae"]
    other = TrainingSession({**SMALL, "seed": 1}).step()
    assert other["train_loss"] != first[0]["train_loss"]


def test_lr_schedule_steps_down_at_milestones() -> None:
    history = train({**SMALL, "lr_schedule": {"milestones": [1, 3], "gamma": 0.1}}, epochs=4)
    assert [h["lr"] for h in history] == pytest.approx([0.01, 0.001, 0.001, 0.0001])


def test_epochs_per_step_and_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "final.pt"
    history = train({**SMALL, "epochs_per_step": 2, "max_structures": 40}, epochs=4,
                    checkpoint_path=path)
    assert [h["epoch"] for h in history] == [2, 4]
    assert history[0]["num_train"] + history[0]["num_val"] == 40
    session = TrainingSession({**SMALL, "max_structures": 40})
    session.load(path)
    assert session.epoch == 4 and session.iteration == 2


def test_reconfigure_keeps_weights_for_algorithm_changes() -> None:
    session = TrainingSession(SMALL)
    session.step()
    weights = [p.clone() for p in session.model.parameters()]
    assert session.reconfigure({**SMALL, "lr": 0.001, "batch_size": 8}) is True
    assert all(torch.equal(a, b) for a, b in zip(weights, session.model.parameters(), strict=True))
    assert session.optimiser.param_groups[0]["lr"] == 0.001
    assert session.train_loader.batch_size == 8 and session.iteration == 1
    # A model hyperparameter means a new, freshly initialised network.
    assert session.reconfigure({**SMALL, "fc_feat_size": 8}) is False
    assert session.iteration == 0 and session.model.fc_feat_size == 8


def test_cuda_request_without_cuda_is_clear() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        TrainingSession({**SMALL, "device": "cuda"})


def test_the_data_fingerprint_names_what_was_trained_on() -> None:
    same = {**SMALL, "seed": 0, "max_structures": 40}
    a, b = TrainingSession(same), TrainingSession(same)
    assert a.data_fingerprint == b.data_fingerprint
    assert a.data_fingerprint.startswith("sha256:")
    assert TrainingSession({**same, "seed": 1}).data_fingerprint != a.data_fingerprint  # split
    assert TrainingSession({**same, "max_structures": 39}).data_fingerprint != a.data_fingerprint
