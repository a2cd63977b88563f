"""Manifests and baselines for the strategy tests: tiny campaigns on the analytic trainables."""

from __future__ import annotations

import copy
import random
import statistics
from typing import Any

import numpy as np

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.searchspace import tune_domain
from hpo_operator.campaign.spec import Campaign

from tests.support.trainables import BOWL_SPACE, ITERATIONS, bowl, step_decay_loss

STEP_DECAY_LRS = [1.0, 0.1, 0.01, 0.001, 0.0001]


def campaign(name: str, spec: dict[str, Any]) -> Campaign:
    return parse_campaign({"apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign",
                           "metadata": {"name": name}, "spec": copy.deepcopy(spec)})


def bowl_spec(scheduler: dict[str, Any], searcher: dict[str, Any], trials: int = 12,
              iterations: int = 3) -> dict[str, Any]:
    """The Bowl learning curve; maxConcurrentTrials 2 as a small shared machine allows."""
    return {"objective": {"metric": "loss", "mode": "min"}, "searchSpace": BOWL_SPACE,
            "strategy": {"scheduler": scheduler, "searcher": searcher},
            "budget": {"trials": trials, "maxConcurrentTrials": 2,
                       "maxIterationsPerTrial": iterations},
            "trainable": {"entrypoint": "tests.support.trainables:Bowl"}}


def step_decay_spec(scheduler: dict[str, Any], seed: int, trials: int = 4) -> dict[str, Any]:
    """The PBT toy: the whole population runs at once on two CPUs (its steps cost nothing)."""
    return {"objective": {"metric": "loss", "mode": "min"},
            "searchSpace": {"lr": {"type": "choice", "values": STEP_DECAY_LRS}},
            "strategy": {"scheduler": scheduler, "searcher": {"type": "random", "seed": seed}},
            "budget": {"trials": trials, "maxConcurrentTrials": trials,
                       "maxIterationsPerTrial": ITERATIONS},
            "resources": {"perTrial": {"cpu": 2 / trials}},
            "trainable": {"entrypoint": "tests.support.trainables:StepDecay"}}


def random_bowl_best(trials: int, iterations: int, runs: int = 2000) -> float:
    """Random search's expected best on the same budget, by simulating it with Tune's own
    samplers for our space (the Bowl's final loss is analytic, so no trial needs to run)."""
    spec = campaign("baseline", bowl_spec({"type": "fifo"}, {"type": "random"})).spec
    domains = {name: tune_domain(p) for name, p in spec.search_space.items()}
    rng = np.random.default_rng(0)
    samples = {k: d.sample(size=trials * runs, random_state=rng) for k, d in domains.items()}
    floors = [bowl({k: v[i] for k, v in samples.items()}) for i in range(trials * runs)]
    return statistics.mean(min(floors[r * trials:(r + 1) * trials]) + 0.5 / iterations
                           for r in range(runs))


def random_step_decay_best(trials: int, runs: int = 2000) -> float:
    """Random search's expected best for the PBT toy: each trial keeps one learning rate."""
    rng = random.Random(0)
    loss = {lr: step_decay_loss([lr] * ITERATIONS) for lr in STEP_DECAY_LRS}
    return statistics.mean(min(loss[rng.choice(STEP_DECAY_LRS)] for _ in range(trials))
                           for _ in range(runs))
