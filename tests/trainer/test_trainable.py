"""The Tune class trainable, driven directly (Trainable works without a running Ray)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hpo_trainer import session as session_module
from hpo_trainer.cgcnn import CHECKPOINT_FILE, CGCNNTrainable

from .conftest import TINY

CONFIG = {"dataset": TINY, "atom_embedding_size": 16, "num_graph_conv_layers": 2,
          "fc_feat_size": 32, "num_fc_layers": 1, "batch_size": 16, "lr": 0.01}
METRICS = {"val_mae", "val_rmse", "val_loss", "train_loss", "lr", "epoch", "epoch_time_s",
           "diverged", "device", "num_params", "num_train", "num_val", "dataset_fingerprint"}


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every graph load the session asks for."""
    calls: list[str] = []
    real = session_module.load_graphs

    def counting(dataset: str, **kwargs: object):
        calls.append(dataset)
        return real(dataset, **kwargs)

    monkeypatch.setattr(session_module, "load_graphs", counting)
    return calls


def _weights(trainable: CGCNNTrainable) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainable.session.model.parameters()]


def _as_trial(trainable: CGCNNTrainable, trial_id: str) -> None:
    # What Trainable.reset() does when Tune hands the actor to a trial.
    trainable._trial_info = SimpleNamespace(trial_id=trial_id)


def test_setup_and_step_report_the_metrics(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hpo_trainer.cgcnn"):
        trainable = CGCNNTrainable(dict(CONFIG))
    assert "on device cpu" in caplog.text
    result = trainable.train()
    assert set(result) >= METRICS
    assert result["device"] == "cpu" and result["training_iteration"] == 1
    assert result["lr"] == 0.01 and 0 < result["val_mae"] < 2
    trainable.stop()


def test_reset_config_reuses_data(load_calls: list[str]) -> None:
    trainable = CGCNNTrainable(dict(CONFIG))
    trainable.train()
    assert load_calls == [TINY]
    before = _weights(trainable)
    # Same trial, new lr and batch size (PBT's explore): weights kept, data not reloaded.
    assert trainable.reset_config({**CONFIG, "lr": 0.002, "batch_size": 32}) is True
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(trainable), strict=True))
    assert trainable.train()["lr"] == 0.002
    # A new architecture: a fresh model, still no reload.
    assert trainable.reset_config({**CONFIG, "num_graph_conv_layers": 3}) is True
    assert len(trainable.session.model.convs) == 3
    assert load_calls == [TINY]
    trainable.stop()


def test_reused_actor_starts_a_new_trial_fresh() -> None:
    trainable = CGCNNTrainable(dict(CONFIG))
    initial = _weights(trainable)
    trainable.train()
    _as_trial(trainable, "trial_b")
    assert trainable.reset_config({**CONFIG, "lr": 0.005}) is True
    # Same seed and architecture as the first trial: the same initial weights, not its trained ones.
    assert all(torch.equal(a, b) for a, b in zip(initial, _weights(trainable), strict=True))
    assert trainable.session.iteration == 0
    trainable.stop()


def test_save_and_load_checkpoint(tmp_path: Path) -> None:
    trainable = CGCNNTrainable(dict(CONFIG))
    trainable.train()
    assert trainable.save_checkpoint(str(tmp_path)) is None
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    saved = _weights(trainable)
    trainable.train()

    # PBT exploit: another lr in the config, then the donor's checkpoint is restored.
    trainable.reset_config({**CONFIG, "lr": 0.003})
    trainable.load_checkpoint(str(tmp_path))
    assert all(torch.equal(a, b) for a, b in zip(saved, _weights(trainable), strict=True))
    assert trainable.session.iteration == 1 and trainable.session.epoch == 1
    assert trainable.session.optimiser.param_groups[0]["lr"] == 0.003

    trainable.load_checkpoint(trainable.session.state_dict())  # the dict form works too
    other = CGCNNTrainable({**CONFIG, "fc_feat_size": 8})
    with pytest.raises(ValueError, match="architecture"):
        other.load_checkpoint(str(tmp_path))
    trainable.stop()
    other.stop()


def test_save_restore_round_trip_through_tune_api(tmp_path: Path) -> None:
    trainable = CGCNNTrainable(dict(CONFIG))
    trainable.train()
    checkpoint = trainable.save(str(tmp_path / "ckpt"))
    restored = CGCNNTrainable(dict(CONFIG))
    restored.restore(checkpoint)
    assert restored.iteration == 1
    pairs = zip(_weights(trainable), _weights(restored), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    trainable.stop()
    restored.stop()
