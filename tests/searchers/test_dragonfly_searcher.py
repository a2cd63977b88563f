"""DragonflySearcher's contract with Tune, driven directly (no Ray cluster needed)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ray import tune

from hpo_operator.campaign.spec import ChoiceParam, FloatParam, IntParam
from hpo_operator.searchers import dragonfly as dragonfly_searcher
from hpo_operator.searchers.dragonfly import DragonflySearcher

SPACE = {
    "x": FloatParam(type="float", min=-2.0, max=2.0),
    "n": IntParam(type="int", min=1, max=9),
    "kind": ChoiceParam(type="choice", values=["a", "b"]),
}
CHEAP = {"acq_opt_max_evals": 100, "gpb_hp_tune_criterion": "ml", "hp_tune_max_evals": 100}


def loss(config: dict[str, Any]) -> float:
    return (config["x"] - 0.5) ** 2 + (config["n"] - 3) ** 2 / 10 + (config["kind"] == "b")


def searcher(**kwargs: Any) -> DragonflySearcher:
    kwargs = {"metric": "loss", "mode": "min", "seed": 0, "options": CHEAP, **kwargs}
    return DragonflySearcher(SPACE, **kwargs)


def run(s: DragonflySearcher, start: int, count: int) -> list[dict[str, Any]]:
    configs = []
    for i in range(start, start + count):
        config = s.suggest(f"t{i}")
        s.on_trial_complete(f"t{i}", {"loss": loss(config)})
        configs.append(config)
    return configs


def test_four_pending_trials_before_any_result() -> None:
    s = searcher(num_initial_points=3)
    run(s, 0, 3)  # the GP has data from here on
    pending = {f"p{i}": s.suggest(f"p{i}") for i in range(4)}
    assert len({tuple(sorted(c.items())) for c in pending.values()}) == 4, pending
    assert set(s._pending) == set(pending)
    for trial_id, config in reversed(list(pending.items())):  # told in any order
        s.on_trial_complete(trial_id, {"loss": loss(config)})
    assert not s._pending and len(s._observations) == 7
    assert s.suggest("next")["kind"] in ("a", "b")


def test_errors_and_missing_metrics_clear_pending_without_telling() -> None:
    s = searcher()
    for trial_id in ("err", "none", "other"):
        s.suggest(trial_id)
    s.on_trial_complete("err", {"loss": 1.0}, error=True)
    s.on_trial_complete("none", None)
    s.on_trial_complete("other", {"accuracy": 1.0})
    s.on_trial_complete("never-suggested", {"loss": 1.0})
    assert not s._pending and not s._observations


@pytest.mark.parametrize("mode, sign", [("min", -1.0), ("max", 1.0)])
def test_diverged_results_are_told_as_the_worst_value_so_far(mode: str, sign: float) -> None:
    s = searcher(mode=mode)
    ids = ["sentinel", "nan", "good", "bad", "later"]
    for trial_id in ids:
        s.suggest(trial_id)
    raws = dict(s._pending)
    # Before any finite result there is no worst value: diverged trials wait for one.
    s.on_trial_complete("sentinel", {"loss": 1.0e6, "diverged": True})
    s.on_trial_complete("nan", {"loss": float("nan")})
    assert not s._observations and set(s._pending) == {"good", "bad", "later"}
    s.on_trial_complete("good", {"loss": 0.5})
    rewards = [reward for _, reward in s._observations]
    assert rewards == [sign * 0.5] * 3  # the held two told with the only value there is
    s.on_trial_complete("bad", {"loss": 0.9 if mode == "min" else 0.1})
    s.on_trial_complete("later", {"loss": float("inf")})
    worst = sign * (0.9 if mode == "min" else 0.1)
    assert s._observations[-1] == (raws["later"], worst)
    assert all(abs(reward) < 1 for _, reward in s._observations)  # the sentinel never told
    restored = pickle.loads(pickle.dumps(s))
    assert restored._observations == s._observations and not restored._diverged_held


def test_held_diverged_trials_survive_a_restore() -> None:
    s = searcher()
    s.suggest("diverged")
    s.suggest("finite")
    s.on_trial_complete("diverged", {"loss": 1.0e6, "diverged": True})
    restored = pickle.loads(pickle.dumps(s))
    restored.on_trial_complete("finite", {"loss": 0.25})
    assert [reward for _, reward in restored._observations] == [-0.25, -0.25]


@pytest.mark.parametrize("mode, sign", [("min", -1.0), ("max", 1.0)])
def test_dragonfly_maximises(mode: str, sign: float) -> None:
    s = searcher(mode=mode)
    s.suggest("t")
    s.on_trial_complete("t", {"loss": 2.5})
    assert s._observations[0][1] == sign * 2.5


def test_points_to_evaluate_come_first_and_are_told() -> None:
    warm = [{"x": 0.5, "n": 3, "kind": "a"}, {"x": -1.0, "n": 9, "kind": "b"}]
    s = searcher(points_to_evaluate=warm)
    assert run(s, 0, 2) == warm
    assert [reward for _, reward in s._observations] == [-0.0, -(1.5**2 + 3.6 + 1)]
    assert s._opt is None  # not even built yet: warm starts cost nothing


def test_seed_reproduces_and_leaves_global_rng_alone() -> None:
    np.random.seed(123)
    expected_draw = np.random.random()
    np.random.seed(123)
    first = run(searcher(seed=7, num_initial_points=3), 0, 5)
    assert np.random.random() == expected_draw
    assert run(searcher(seed=7, num_initial_points=3), 0, 5) == first
    assert run(searcher(seed=8, num_initial_points=3), 0, 5) != first


def test_save_restore_and_pickle_continue_the_search(tmp_path: Path) -> None:
    s = searcher(num_initial_points=3)
    run(s, 0, 4)
    s.suggest("pending")
    s.save_to_dir(str(tmp_path))  # what Tune does during fit
    fresh = DragonflySearcher(SPACE, options=CHEAP)
    fresh.restore_from_dir(str(tmp_path))
    clone = pickle.loads(pickle.dumps(s))  # what Tuner.restore relies on
    for restored in (fresh, clone):
        assert restored._observations == s._observations
        assert set(restored._pending) == {"pending"}
        assert (restored.metric, restored.mode) == ("loss", "min")
        restored.on_trial_complete("pending", {"loss": 0.1})
        assert len(restored._observations) == 5
        run(restored, 10, 2)  # rebuilt from the observations, then asks the GP
        assert len(restored._observations) == 7


def test_metric_and_mode_come_from_tune() -> None:
    s = DragonflySearcher(SPACE, options=CHEAP)
    with pytest.raises(RuntimeError, match="metric"):
        s.suggest("t")
    config = {"x": tune.uniform(-2, 2), "n": tune.randint(1, 10), "kind": tune.choice(["a", "b"]),
              "fixed": 3}
    assert s.set_search_properties("loss", "max", config) is True
    assert (s.metric, s.mode) == ("loss", "max")
    with pytest.raises(ValueError, match="lacks"):
        s.set_search_properties("loss", "max", {**config, "extra": tune.uniform(0, 1)})
    with pytest.raises(ValueError, match="mode"):
        DragonflySearcher(SPACE, metric="loss", mode="maximise")
    with pytest.raises(ValueError, match="unknown Dragonfly option"):
        DragonflySearcher(SPACE, metric="loss", mode="min", options={"no_such": 1}).suggest("t")


def test_missing_dragonfly_names_the_install_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dragonfly_searcher.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="scripts/install-dragonfly.sh"):
        DragonflySearcher(SPACE)


def test_add_evaluated_point() -> None:
    s = searcher()
    s.add_evaluated_point({"x": 0.0, "n": 2, "kind": "a"}, 0.35)
    s.add_evaluated_point({"x": 0.0, "n": 2, "kind": "a"}, math.inf)
    assert len(s._observations) == 1
