"""Strategy factories and the search-space translation (no Ray cluster needed)."""

from __future__ import annotations

import pytest
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
)
from ray.tune.search.sample import Categorical, Float, Integer

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.searchspace import param_space
from hpo_operator.campaign.strategies import (
    checkpoint_frequency,
    make_scheduler,
    make_searcher,
    population_seed,
    stop_criteria,
)

from tests.support.campaigns import campaign, replace

SPACE = {"lr": {"type": "float", "min": 1e-4, "max": 1e-1, "log": True},
         "batch_size": {"type": "choice", "values": [16, 32, 64]},
         "layers": {"type": "int", "min": 1, "max": 3}}


def spec_with(scheduler, **budget):
    return parse_campaign(campaign(searchSpace=replace(SPACE), strategy={"scheduler": scheduler},
                                   budget=replace({"trials": 4, **budget}))).spec


def test_search_space_domains_and_inclusive_int_bounds():
    space = param_space(spec_with({"type": "asha"}))
    assert isinstance(space["lr"], Float) and (space["lr"].lower, space["lr"].upper) == (1e-4, 1e-1)
    assert isinstance(space["batch_size"], Categorical)
    assert isinstance(space["layers"], Integer)
    samples = {space["layers"].sample() for _ in range(300)}
    assert samples == {1, 2, 3}  # max is inclusive, as the manifest says


def test_fixed_config_is_passed_to_every_trial():
    doc = campaign(trainable={"config": {"dataset": "d"}})
    assert param_space(parse_campaign(doc).spec)["dataset"] == "d"


def test_grid_search_over_choices():
    doc = campaign(searchSpace=replace({"a": {"type": "choice", "values": [1, 2]}}),
                   strategy={"scheduler": {"type": "fifo"}, "searcher": {"type": "grid"}},
                   budget={"trials": 1, "maxIterationsPerTrial": 2})
    assert param_space(parse_campaign(doc).spec)["a"] == {"grid_search": [1, 2]}


def test_scheduler_factory_maps_every_type():
    asha = make_scheduler(spec_with({"type": "asha", "maxT": 9, "gracePeriod": 3,
                                     "reductionFactor": 3}))
    assert isinstance(asha, AsyncHyperBandScheduler) and asha._max_t == 9
    assert len(asha._brackets) == 1
    ahb = make_scheduler(spec_with({"type": "async_hyperband", "maxT": 27, "brackets": 3}))
    assert isinstance(ahb, AsyncHyperBandScheduler) and len(ahb._brackets) == 3
    assert isinstance(make_scheduler(spec_with({"type": "hyperband", "maxT": 9})),
                      HyperBandScheduler)
    assert isinstance(make_scheduler(spec_with({"type": "fifo"}, maxIterationsPerTrial=3)),
                      FIFOScheduler)
    assert isinstance(make_scheduler(spec_with({"type": "median"}, maxIterationsPerTrial=3)),
                      MedianStoppingRule)


def test_pbt_mutates_the_searched_algorithm_hyperparameters():
    doc = campaign(searchSpace=replace({k: v for k, v in SPACE.items() if k != "layers"}),
                   strategy={"scheduler": {"type": "pbt", "perturbationInterval": 3}},
                   budget={"trials": 4, "maxIterationsPerTrial": 12, "maxConcurrentTrials": None})
    spec = parse_campaign(doc).spec
    pbt = make_scheduler(spec)
    assert isinstance(pbt, PopulationBasedTraining)
    assert set(pbt._hyperparam_mutations) == {"lr", "batch_size"}
    assert pbt._hyperparam_mutations["batch_size"] == [16, 32, 64]
    assert pbt._custom_explore_fn is None  # Ray's explore: no clipping unless clipToRange


def test_pbt_mutates_a_subset_and_starts_from_initial_values():
    space = {"lr": {**SPACE["lr"], "initial": {"min": 1e-3, "max": 1e-2}},
             "batch_size": {**SPACE["batch_size"], "mutate": False,
                            "initial": {"values": [32]}}}
    doc = campaign(searchSpace=replace(space),
                   strategy={"scheduler": {"type": "pbt", "perturbationInterval": 3,
                                           "clipToRange": True}},
                   budget={"trials": 4, "maxIterationsPerTrial": 12, "maxConcurrentTrials": None})
    spec = parse_campaign(doc).spec
    pbt = make_scheduler(spec)
    assert set(pbt._hyperparam_mutations) == {"lr"}  # explore keeps batch_size as it starts
    mutation = pbt._hyperparam_mutations["lr"]
    assert (mutation.lower, mutation.upper) == (1e-4, 1e-1)  # explore's range: the whole range
    start = param_space(spec)
    assert (start["lr"].lower, start["lr"].upper) == (1e-3, 1e-2)  # starting values: initial
    assert start["batch_size"].categories == [32]
    assert pbt._custom_explore_fn({"lr": 0.5, "batch_size": 32})["lr"] == 0.1  # clipToRange


def test_pbt_seed_defaults_to_the_searchers():
    def seed(scheduler: dict, searcher: dict) -> int | None:
        doc = campaign(searchSpace=replace({"lr": SPACE["lr"]}),
                       strategy={"scheduler": {"type": "pbt", **scheduler}, "searcher": searcher},
                       budget={"trials": 4, "maxIterationsPerTrial": 12,
                               "maxConcurrentTrials": None})
        return population_seed(parse_campaign(doc).spec)

    assert seed({"seed": 3}, {"type": "random", "seed": 7}) == 3
    assert seed({}, {"type": "random", "seed": 7}) == 7
    assert seed({}, {"type": "random"}) is None


@pytest.mark.parametrize("scheduler", [{"type": "asha", "maxT": 9}, {"type": "fifo"},
                                       {"type": "hyperband", "maxT": 9},
                                       {"type": "pbt", "perturbationInterval": 3}])
def test_checkpoints_only_when_asked_for_whatever_the_scheduler(scheduler):
    # The guide's minimal checkpointing: schedulers that need checkpoints (PBT exploits,
    # HyperBand pauses) save them themselves; a periodic one is only the user's choice.
    doc = campaign(searchSpace=replace({"lr": SPACE["lr"]}), strategy={"scheduler": scheduler},
                   budget={"trials": 4, "maxIterationsPerTrial": 9, "maxConcurrentTrials": None})
    assert checkpoint_frequency(parse_campaign(doc).spec) == 0
    doc["spec"]["checkpoint"] = {"frequency": 3}
    assert checkpoint_frequency(parse_campaign(doc).spec) == 3


def test_the_iteration_limit_stops_trials():
    capped = spec_with({"type": "asha", "maxT": 9}, maxIterationsPerTrial=9)
    assert stop_criteria(capped) == {"training_iteration": 9}
    # ASHA stops trials at maxT itself (stopLastTrials), in its timeAttr, as in Ray Tune.
    assert stop_criteria(spec_with({"type": "asha", "maxT": 9})) is None


def test_random_search_seed_and_warm_start():
    doc = campaign(strategy={"searcher": {"type": "random", "seed": 7,
                                          "pointsToEvaluate": [{"x": 0.3}]}})
    def draws(seed: int) -> list[float]:
        doc["spec"]["strategy"]["searcher"]["seed"] = seed
        searcher = make_searcher(parse_campaign(doc).spec)
        assert searcher._points_to_evaluate == [{"x": 0.3}]  # evaluated first, as given
        return [searcher._random_state.uniform(0, 1) for _ in range(3)]  # Tune samples from it

    assert draws(7) == draws(7) != draws(8)
    assert make_searcher(parse_campaign(campaign()).spec) is None  # Tune's default generator
