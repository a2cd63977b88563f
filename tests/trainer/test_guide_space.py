"""What the guide's search space can produce: configurations that diverge, and configurations
too large for the device. Both end cleanly, with a finite status and a clear message."""

from __future__ import annotations

import json
import math

import pytest
from hpo_trainer.cgcnn import CGCNNTrainable
from hpo_trainer.config import TrialConfig
from hpo_trainer.memory import GIB, ConfigTooLarge, count_parameters, estimate
from hpo_trainer.model import CGCNN
from hpo_trainer.session import DIVERGED_VALUE, TrainingSession, train

from .conftest import TINY

SMALL = {"dataset": TINY, "atom_embedding_size": 16, "num_graph_conv_layers": 2,
         "fc_feat_size": 32, "num_fc_layers": 1, "batch_size": 16, "lr": 0.01}
# An absurd learning rate: the first Adam steps move every weight by about 1e30.
DIVERGING = {**SMALL, "lr": 1e30}


def test_a_diverging_config_reports_the_finite_sentinel_and_ends() -> None:
    result = TrainingSession(DIVERGING).step()
    assert result["diverged"] is True and result["done"] is True
    for key in ("val_mae", "val_rmse", "val_loss", "train_loss"):
        assert result[key] == DIVERGED_VALUE
    assert all(not isinstance(v, float) or math.isfinite(v) for v in result.values())
    json.dumps(result, allow_nan=False)  # what the status can hold
    assert len(train(DIVERGING, epochs=5)) == 1  # train() stops at the diverged step


def test_a_healthy_step_is_not_done() -> None:
    result = TrainingSession(SMALL).step()
    assert result["diverged"] is False and "done" not in result
    assert 0 < result["val_mae"] < DIVERGED_VALUE


def test_the_trainable_ends_a_diverged_trial_with_a_finite_result() -> None:
    trainable = CGCNNTrainable(dict(DIVERGING))
    result = trainable.train()
    assert result["done"] is True and result["val_mae"] == DIVERGED_VALUE
    trainable.stop()


@pytest.mark.parametrize("sizes", [(16, 2, 32, 1), (1, 1, 1, 1), (100, 3, 150, 40), (7, 4, 5, 3)])
def test_the_parameter_count_is_the_models(sizes: tuple[int, int, int, int]) -> None:
    model = CGCNN(*sizes, edge_dim=40)
    assert count_parameters(*sizes, edge_dim=40) == sum(p.numel() for p in model.parameters())


def test_the_estimate_grows_with_the_size_keys() -> None:
    graphs = TrainingSession(SMALL).train_graphs
    small = estimate(TrialConfig.from_dict(SMALL), graphs)
    deeper = estimate(TrialConfig.from_dict({**SMALL, "num_graph_conv_layers": 40}), graphs)
    bigger_batch = estimate(TrialConfig.from_dict({**SMALL, "batch_size": 32}), graphs)
    assert deeper.activation_bytes > 10 * small.activation_bytes
    assert bigger_batch.batch_edges > small.batch_edges
    assert small.total_bytes < 0.1 * GIB  # the tiny data set and a small model


def test_a_config_too_large_is_refused_before_anything_is_allocated(monkeypatch) -> None:
    built = []
    monkeypatch.setattr("hpo_trainer.session.CGCNN", lambda *a, **k: built.append(a))
    huge = {**SMALL, "atom_embedding_size": 100_000}  # ~2e10 parameters in the convolutions
    with pytest.raises(ConfigTooLarge) as error:
        TrainingSession(huge)
    message = str(error.value)
    assert "max_memory_gb=8" in message and "GiB" in message
    for key in ("atom_embedding_size=100000", "num_graph_conv_layers=2", "fc_feat_size=32",
                "num_fc_layers=1", "batch_size=16"):
        assert key in message
    assert not built


def test_the_bound_is_a_config_key() -> None:
    with pytest.raises(ConfigTooLarge, match="max_memory_gb=0.001"):
        TrainingSession({**SMALL, "max_memory_gb": 0.001})
    graphs = TrainingSession(SMALL).train_graphs
    sizes = [estimate(TrialConfig.from_dict({**SMALL, "batch_size": b}), graphs).total_bytes
             for b in (16, 64)]
    bound = {**SMALL, "max_memory_gb": sum(sizes) / 2 / GIB}  # batch 16 fits, 64 does not
    session = TrainingSession(bound)
    # A larger batch is checked too when a reused trial changes only its batch size.
    with pytest.raises(ConfigTooLarge, match="batch_size=64"):
        session.reconfigure({**bound, "batch_size": 64})
