"""HyperOpt and Nevergrad: better than random search on the Bowl, and real campaigns with them.

The comparison drives the real searchers through Tune's Searcher interface in this process, two
configurations in flight at a time as in the campaigns, on the Bowl's analytic final loss: no
Ray timing enters, so a seed is a fixed scenario and the margin is that scenario's, not luck.
Random search's expected best on the same budget is simulated with Tune's own samplers.
"""

from __future__ import annotations

import statistics

import pytest

from hpo_operator.campaign.searchspace import param_space
from hpo_operator.campaign.status import Phase
from hpo_operator.campaign.strategies import make_searcher
from hpo_operator.driver.run import run_campaign

from tests.strategies.test_vs_random import random_bowl_best
from tests.support.campaigns import on_bowl, parsed, replace
from tests.support.trainables import bowl

SEEDS = (0, 1, 2, 3, 4)
TRIALS, ITERATIONS = 40, 3
SEARCHERS = {"hyperopt": {"type": "hyperopt", "nInitialPoints": 10},
             "nevergrad": {"type": "nevergrad"}}


def searched_best(searcher: dict, seed: int) -> float:
    spec = parsed("t", on_bowl({"type": "fifo"}, {**searcher, "seed": seed}, TRIALS,
                               ITERATIONS)).spec
    alg = make_searcher(spec)
    alg.set_search_properties(spec.objective.metric, spec.objective.mode, param_space(spec))
    best, started = float("inf"), 0
    while started < TRIALS:
        batch = [(f"t{started + k}", None) for k in range(min(2, TRIALS - started))]
        batch = [(trial, alg.suggest(trial)) for trial, _ in batch]
        started += len(batch)
        for trial, config in batch:
            loss = bowl(config) + 0.5 / ITERATIONS  # the Bowl's loss at its last iteration
            best = min(best, loss)
            alg.on_trial_complete(trial, {"loss": loss})
    return best


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_searcher_beats_random_search(name):
    bests = [searched_best(SEARCHERS[name], seed) for seed in SEEDS]
    baseline = random_bowl_best(TRIALS, ITERATIONS)
    print(f"\n{name}: best loss per seed {[round(b, 3) for b in bests]}, mean "
          f"{statistics.mean(bests):.3f}; random search's expected best {baseline:.3f}")
    assert statistics.mean(bests) < 0.8 * baseline
    assert searched_best(SEARCHERS[name], SEEDS[0]) == bests[0]  # seeded: the same scenario


NESTED_SPACE = {
    "x": {"type": "float", "min": 0.0, "max": 1.0, "q": 0.05},
    "opt": {"type": "nested", "params": {
        "width": {"type": "int", "min": 8, "max": 64, "log": True},
        "kind": {"type": "choice", "values": ["sgd", "adam"]}}},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_a_campaign_with_the_searcher_gets_nested_quantised_configs(name, local_ray, tmp_path):
    space = dict(NESTED_SPACE)
    if name == "nevergrad":  # Nevergrad takes no q (validation refuses it)
        space["x"] = {"type": "float", "min": 0.0, "max": 1.0}
    doc = parsed(f"{name}-nested", {"strategy": {"searcher": {**SEARCHERS[name], "seed": 0}},
                                    "budget": {"trials": 4}, "searchSpace": replace(space)})
    status = run_campaign(doc, tmp_path, [], publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
    config = status.best_trial.config
    assert set(config["opt"]) == {"width", "kind"} and 8 <= config["opt"]["width"] <= 64
    assert 0 <= config["x"] <= 1
    if name == "hyperopt":
        assert round(config["x"] / 0.05, 9).is_integer()
