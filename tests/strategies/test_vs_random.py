"""Model-based search and PBT against random search on the same budget, over a few seeds.

Each method runs as a real campaign on local Ray; random search's best on the same budget is
its expectation, simulated with Tune's own samplers (the toys' losses are analytic). PBT's runs
also check schedule extraction against the schedule the toy was built around. Seeded synchronous
PBT makes the same exploits on every run, so its seeds are fixed scenarios, not samples: about
half the seeds find the constructed schedule exactly with a population of 8.
"""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hpo_operator.driver.run import run_campaign
from hpo_operator.campaign.schedule import LINEAGE_FILE, SCHEDULE_FILE, per_iteration
from hpo_operator.campaign.searchspace import tune_domain
from hpo_operator.campaign.status import Phase
from hpo_operator.cli import main

from tests.support.campaigns import STEP_DECAY_LRS, on_bowl, on_step_decay, parsed
from tests.support.trainables import GAMMA, MILESTONES, bowl, step_decay_loss
from tests.support.trainables import ITERATIONS as STEP_DECAY_ITERATIONS

pytestmark = pytest.mark.slow

SEEDS = (0, 1, 2)
TRIALS, ITERATIONS = 12, 3
PBT = {"type": "pbt", "timeAttr": "training_iteration", "perturbationInterval": 2,
       "quantileFraction": 0.5, "resampleProbability": 0.1, "synch": True}
POPULATION = 8

METHODS = {
    "optuna-tpe+asha": ({"type": "asha", "maxT": ITERATIONS, "gracePeriod": 1,
                         "reductionFactor": 3},
                        {"type": "optuna", "sampler": "tpe", "nStartupTrials": 4}),
    "bohb": ({"type": "bohb", "maxT": ITERATIONS, "reductionFactor": 3}, {"type": "bohb"}),
}


def random_bowl_best(trials: int, iterations: int, runs: int = 2000) -> float:
    """Random search's expected best on the same budget, by simulating it with Tune's own
    samplers for our space (the Bowl's final loss is analytic, so no trial needs to run)."""
    spec = parsed("baseline", on_bowl({"type": "fifo"}, {"type": "random"})).spec
    domains = {name: tune_domain(p) for name, p in spec.search_space.items()}
    rng = np.random.default_rng(0)
    samples = {k: d.sample(size=trials * runs, random_state=rng) for k, d in domains.items()}
    floors = [bowl({k: v[i] for k, v in samples.items()}) for i in range(trials * runs)]
    return statistics.mean(min(floors[r * trials:(r + 1) * trials]) + 0.5 / iterations
                           for r in range(runs))


def random_step_decay_best(trials: int, runs: int = 2000) -> float:
    """Random search's expected best for the PBT toy: each trial keeps one learning rate."""
    rng = random.Random(0)
    loss = {lr: step_decay_loss([lr] * STEP_DECAY_ITERATIONS) for lr in STEP_DECAY_LRS}
    return statistics.mean(min(loss[rng.choice(STEP_DECAY_LRS)] for _ in range(trials))
                           for _ in range(runs))


def _best(name: str, overrides: dict[str, Any], storage: Path) -> float:
    status = run_campaign(parsed(name, overrides), storage, [], publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert status.best_trial is not None
    return status.best_trial.metric


@pytest.mark.parametrize("method", sorted(METHODS))
def test_model_based_search_beats_random_search(method, local_ray, tmp_path):
    scheduler, searcher = METHODS[method]
    bests = [_best(f"{method.replace('+', '-')}-{seed}",
                   on_bowl(scheduler, {**searcher, "seed": seed}, TRIALS, ITERATIONS), tmp_path)
             for seed in SEEDS]
    baseline = random_bowl_best(TRIALS, ITERATIONS)
    print(f"\n{method}: best loss per seed {[round(b, 3) for b in bests]}, mean "
          f"{statistics.mean(bests):.3f}; random search's expected best {baseline:.3f}")
    assert statistics.mean(bests) < baseline


@pytest.fixture(scope="module")
def pbt_runs(local_ray, tmp_path_factory):
    """A PBT campaign per seed on the step-decay toy (shared: PBT runs are the costly ones)."""
    storage = tmp_path_factory.mktemp("pbt")
    runs = []
    for seed in SEEDS[:2]:  # the searcher's seed also seeds PBT's draws
        status = run_campaign(parsed(f"pbt-{seed}", on_step_decay(PBT, seed, POPULATION)),
                              storage, [], publish_interval=30)
        assert status.phase is Phase.SUCCEEDED, status.message
        runs.append(status)
    return runs


def test_pbt_beats_random_search(pbt_runs):
    bests = [s.best_trial.metric for s in pbt_runs]
    baseline = random_step_decay_best(POPULATION)
    print(f"\npbt: best loss per seed {[f'{b:.2e}' for b in bests]}; random search's expected "
          f"best {baseline:.2e}")
    assert statistics.mean(bests) < baseline


def test_schedule_follows_the_lineage_through_exploits(pbt_runs):
    """The toy's loss is a function of the learning rate at each iteration only: replaying the
    extracted schedule reproduces the best trial's loss exactly, which holds only if every
    exploit really copied the clone's checkpoint and the lineage is cut at the right iterations."""
    for status in pbt_runs:
        schedule = status.schedule
        assert schedule is not None and schedule.trial_id == status.best_trial.id
        lrs = per_iteration(schedule.params["lr"], schedule.iterations)
        assert step_decay_loss(lrs) == pytest.approx(status.best_trial.metric, rel=1e-9)
        assert (Path(status.experiment_path) / SCHEDULE_FILE).exists()


def test_pbt_recovers_the_constructed_learning_rate_schedule(pbt_runs, capsys):
    best = min(pbt_runs, key=lambda s: s.best_trial.metric)
    fit = best.schedule.lr_schedule
    assert fit is not None and fit.param == "lr"
    # PBT sees a change only after it, at a perturbation, and explores at random: a milestone
    # may lag by up to two perturbation intervals.
    assert len(fit.milestones) == len(MILESTONES)
    for found, true in zip(fit.milestones, MILESTONES):
        assert true <= found <= true + 2 * PBT["perturbationInterval"], fit
    assert abs(fit.gamma / GAMMA - 1) < 0.5, fit
    assert main(["schedule", best.experiment_path]) == 0
    out = capsys.readouterr().out
    assert "lr_schedule:" in out and f"milestones: [{', '.join(map(str, fit.milestones))}]" in out


def test_seeded_synchronous_pbt_repeats_its_exploits(local_ray, tmp_path):
    """Ray's event loop draws from the global ``random`` a timing-dependent number of times;
    PBT's own stream keeps a seeded campaign repeatable."""
    runs = []
    for name in ("again-a", "again-b"):
        runs.append(run_campaign(parsed(name, on_step_decay(PBT, seed=5)), tmp_path, [],
                                 publish_interval=30))
    lineages = [[(r["iteration"], r["cloneConfig"], r["config"])
                 for r in map(json.loads, (Path(s.experiment_path) / LINEAGE_FILE)
                              .read_text().splitlines())] for s in runs]
    assert lineages[0] and lineages[0] == lineages[1]
    assert runs[0].best_trial.metric == runs[1].best_trial.metric
    assert runs[0].schedule.params == runs[1].schedule.params
