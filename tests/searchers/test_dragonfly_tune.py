"""DragonflySearcher in real Ray Tune campaigns on local Ray, against random search.

The objective is an analytic bowl over an int, a log-scaled float, a numeric choice and a string
choice, with its optimum (loss 0) inside the space. Each campaign: one iteration per trial,
25 trials, two at a time. Seeds are fixed, but the order in which concurrent trials finish could
vary, so the comparison is on the mean best loss over several seeds.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
from ray import tune
from ray.tune.search import BasicVariantGenerator, Searcher

from hpo_operator.campaign.searchspace import tune_domain
from hpo_operator.campaign.spec import ChoiceParam, FloatParam, IntParam
from hpo_operator.searchers.dragonfly import DragonflySearcher

from tests.support.trainables import mixed_bowl, mixed_bowl_objective

SPACE = {
    "depth": IntParam(type="int", min=1, max=40),
    "lr": FloatParam(type="float", min=1e-4, max=1e-1, log=True),
    "batch_size": ChoiceParam(type="choice", values=[16, 32, 64, 128]),
    "activation": ChoiceParam(type="choice", values=["relu", "tanh", "gelu"]),
}
TRIALS, CONCURRENT, SEEDS = 25, 2, (0, 1, 2)
# Dragonfly's defaults, made cheaper for 2 shared cores: maximum-likelihood GP fits only
# (no posterior sampling) and 300 acquisition-optimiser evaluations instead of 1000.
OPTIONS = {"gpb_hp_tune_criterion": "ml", "acq_opt_max_evals": 300}


def campaign(search_alg: Searcher | BasicVariantGenerator, storage: Path,
             name: str) -> tuple[float, float]:
    """Runs one campaign; returns its best loss and the mean loss of its trials."""
    tuner = tune.Tuner(
        mixed_bowl_objective,
        param_space={name: tune_domain(p) for name, p in SPACE.items()},
        tune_config=tune.TuneConfig(metric="loss", mode="min", search_alg=search_alg,
                                    num_samples=TRIALS, max_concurrent_trials=CONCURRENT,
                                    reuse_actors=True),  # a new actor per trial costs ~1 s
        run_config=tune.RunConfig(name=name, storage_path=str(storage), verbose=0),
    )
    results = tuner.fit()
    assert len(results) == TRIALS and not results.errors
    losses = [float(result.metrics["loss"]) for result in results]
    for result in results:
        assert mixed_bowl(result.config) == pytest.approx(result.metrics["loss"])
    return min(losses), statistics.mean(losses)


@pytest.mark.slow
def test_bayesian_optimisation_against_random_search(local_ray: Any, tmp_path: Path) -> None:
    best: dict[str, list[float]] = {"dragonfly": [], "random": []}
    for seed in SEEDS:
        best["dragonfly"].append(campaign(
            DragonflySearcher(SPACE, seed=seed, options=OPTIONS), tmp_path, f"bo-{seed}")[0])
        best["random"].append(campaign(
            BasicVariantGenerator(random_state=seed), tmp_path, f"random-{seed}")[0])

    # Tune saved the searcher's state during the run; it restores with every result in it.
    saved = DragonflySearcher(SPACE)
    saved.restore_from_dir(str(tmp_path / f"bo-{SEEDS[-1]}"))
    assert len(saved._observations) == TRIALS and not saved._pending

    means = {k: statistics.mean(v) for k, v in best.items()}
    print(f"best loss per seed {SEEDS}: {best}; means {means}")
    # On these seeds Dragonfly's best averages 0.31 against random search's 1.30, the same in
    # repeated runs, under load too. Over seeds 0-6 two seeds in seven ended near 1.8: even two
    # such seeds here would leave the mean (1.22) below random search's.
    assert means["dragonfly"] < means["random"], best
