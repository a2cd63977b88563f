"""A concurrency cap below what PBT's population or HyperBand's brackets need is refused.

Ray Tune creates trials only as ``max_concurrent_trials`` allows and counts paused trials
against it: PBT then runs its population in batches, and HyperBand halves brackets before their
trials exist (a campaign of 20 trials stopped none with a cap of 2). The value HyperBand needs
is worked out from Ray's bracket assignment, and checked here against Ray's own scheduler.
"""

from __future__ import annotations

import logging

import pytest
from ray.tune.schedulers import HyperBandScheduler
from .test_rules import ALGO, problems

from hpo_operator.campaign.scheduler_rules import hyperband_trials_needed

CAP = "spec.budget.maxConcurrentTrials"


def ray_trials_needed(max_t: int, eta: float, trials: int) -> int:
    """The position of the last trial Ray's HyperBandScheduler puts in a bracket that halves."""
    logging.getLogger("ray.tune.schedulers.hyperband").setLevel(logging.WARNING)
    scheduler = HyperBandScheduler(metric="m", mode="min", max_t=max_t, reduction_factor=eta)
    last = 0
    for position in range(1, trials + 1):
        trial = object()
        scheduler.on_trial_add(None, trial)
        bracket, _ = scheduler._trial_info[trial]
        if bracket._halves > 0:
            last = position
    return last


@pytest.mark.parametrize("max_t", [1, 2, 4, 9, 27, 50, 81, 100])
@pytest.mark.parametrize("eta", [2, 3, 4, 2.5])
def test_the_trials_hyperband_needs_together_are_those_ray_puts_in_halving_brackets(max_t, eta):
    for trials in (1, 4, 17, 24, 60, 250):
        assert hyperband_trials_needed(max_t, eta, trials) == ray_trials_needed(max_t, eta, trials)


def test_a_band_of_brackets_is_needed_together_but_not_the_next_bands_first():
    # maxT 9, eta 3: brackets of 3 (to maxT), 5 and 9 trials; trials 18-20 start a new band.
    assert hyperband_trials_needed(9, 3, 20) == 17
    assert problems({"type": "hyperband", "maxT": 9, "reductionFactor": 3}, trials=20,
                    cap=17) == {}


def test_hyperband_below_its_brackets_is_refused_naming_the_cap_and_the_value():
    found = problems({"type": "hyperband", "maxT": 27, "reductionFactor": 3}, trials=20, cap=2)
    assert "at least 20" in found[CAP] and "budget.maxConcurrentTrials" in found[CAP]
    assert problems({"type": "hyperband", "maxT": 27, "reductionFactor": 3}, trials=20,
                    cap=None) == {}
    # Asynchronous schedulers never wait for a rung to fill, and BOHB's HyperBand frees the
    # places of the trials it pauses: a cap is fine for them.
    assert problems({"type": "asha", "maxT": 9}, trials=20, cap=2) == {}
    assert problems({"type": "bohb", "maxT": 9}, {"type": "bohb"}, trials=20, cap=2) == {}


@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_a_population_below_its_size_is_refused(kind):
    scheduler = {"type": kind, "timeAttr": "training_iteration", "perturbationInterval": 3}
    space = {"lr": ALGO["lr"]}
    found = problems(scheduler, {"type": "random"}, trials=8, space=space, cap=4)
    assert f"{kind.upper()} needs its whole population (8 trials" in found[CAP]
    assert "at least 8" in found[CAP]
    assert problems(scheduler, {"type": "random"}, trials=8, space=space, cap=8) == {}
