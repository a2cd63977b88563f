"""Every scheduler and searcher not covered by test_vs_random runs a real (tiny) campaign."""

from __future__ import annotations


import pytest

from hpo_operator.driver.run import run_campaign
from hpo_operator.campaign.status import Phase

from tests.support.campaigns import on_bowl, on_step_decay, parsed, replace
from tests.support.trainables import OPTIMUM

pytestmark = pytest.mark.slow

RANDOM = {"type": "random", "seed": 1}
SMALL = {
    "async_hyperband": ({"type": "async_hyperband", "maxT": 4, "gracePeriod": 1,
                         "reductionFactor": 2, "brackets": 2}, RANDOM),
    "hyperband": ({"type": "hyperband", "maxT": 4, "reductionFactor": 2}, RANDOM),
    "median": ({"type": "median", "timeAttr": "training_iteration", "gracePeriod": 1,
                "minSamplesRequired": 2}, RANDOM),
    "optuna-gp": ({"type": "fifo"}, {"type": "optuna", "sampler": "gp", "seed": 0,
                                     "nStartupTrials": 3,
                                     "pointsToEvaluate": [{"lr": OPTIMUM["lr"], "width": 37,
                                                           "dropout": 0.2,
                                                           "activation": "relu"}]}),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_strategy_runs_a_real_campaign(name, local_ray, tmp_path):
    scheduler, searcher = SMALL[name]
    overrides = on_bowl(scheduler, searcher, trials=5, iterations=4)
    if name == "hyperband":  # its brackets' trials must exist together: no cap
        overrides["budget"]["maxConcurrentTrials"] = None
    status = run_campaign(parsed(name.replace("_", "-"), overrides), tmp_path, [],
                          publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert status.trials.total == 5 and status.trials.errored == 0
    if "pointsToEvaluate" in searcher:  # the warm-start point is the optimum: tried, and best
        assert status.best_trial.config["width"] == 37
        assert status.best_trial.metric == pytest.approx(0.5 / 4, abs=1e-6)


def test_pb2_runs_and_reports_a_schedule(local_ray, tmp_path):
    pb2 = {"type": "pb2", "timeAttr": "training_iteration", "perturbationInterval": 4,
           "quantileFraction": 0.5, "synch": True}
    pb2_campaign = parsed("pb2", on_step_decay(pb2, seed=0),
                          searchSpace=replace({"lr": {"type": "float", "min": 1e-4, "max": 0.5}}),
                          budget={"maxIterationsPerTrial": 9})  # two perturbation rounds suffice
    status = run_campaign(pb2_campaign, tmp_path, [], publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
    assert status.schedule is not None and status.schedule.params["lr"]


def test_dragonfly_runs_a_real_campaign(local_ray, tmp_path):
    dragonfly = parsed("dragonfly", on_bowl({"type": "fifo"}, {"type": "dragonfly", "seed": 0},
                                            trials=6, iterations=2))
    status = run_campaign(dragonfly, tmp_path, [], publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
