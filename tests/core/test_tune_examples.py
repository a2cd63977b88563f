"""Trainables written as Ray Tune's examples are, run as HPOCampaign manifests through ``hpo run``
on local Ray, reach the result their constructed problems promise."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hpo_operator.cli import main

from tests.support.campaigns import campaign, replace, write
from tests.support.tune_examples import BEST_LR, evaluation_fn

pytestmark = pytest.mark.slow

STEPS = 8


def hpo_run(tmp_path: Path, doc: dict) -> tuple[dict, list[dict]]:
    """``hpo run`` on the manifest; its final status and every trial's last result."""
    status_file = tmp_path / "status.json"
    code = main(["run", str(write(tmp_path, doc)), "--storage", str(tmp_path / "runs"),
                 "--status-file", str(status_file), "--quiet", "--interval", "0.5"])
    status = json.loads(status_file.read_text())
    assert code == 0 and status["phase"] == "Succeeded", status.get("message")
    experiment = tmp_path / "runs" / doc["metadata"]["name"]
    last = [json.loads(path.read_text().splitlines()[-1])
            for path in sorted(experiment.glob("*/result.json"))]
    return status, last


def test_a_function_trainable_under_asha_finds_the_constructed_optimum(local_ray, tmp_path):
    """The manifest of README's migration example: loguniform, randint and choice parameters,
    ASHA with its options, a sample budget and a concurrency cap."""
    doc = campaign(
        "function-example",
        objective={"metric": "mean_loss", "mode": "min"},
        searchSpace=replace({
            "lr": {"type": "float", "min": 1e-4, "max": 1e-1, "log": True},
            "width": {"type": "int", "min": 16, "max": 128},
            "activation": {"type": "choice", "values": ["relu", "tanh", "sigmoid"]}}),
        strategy={"scheduler": {"type": "asha", "timeAttr": "training_iteration", "maxT": STEPS,
                                "gracePeriod": 1, "reductionFactor": 2},
                  "searcher": {"type": "random", "seed": 7}},
        budget={"trials": 12, "maxConcurrentTrials": 2},
        trainable={"entrypoint": "tests.support.tune_examples:easy_objective",
                   "config": {"steps": STEPS}},
        resources={"perTrial": {"cpu": 1}})
    status, last = hpo_run(tmp_path, doc)
    assert len(last) == 12
    # Separable losses: the trial that would end best is never stopped, so the best result is
    # the best of the twelve sampled configs run to the end.
    finals = [evaluation_fn(STEPS - 1, r["config"]["lr"], r["config"]["width"],
                            r["config"]["activation"]) for r in last]
    best = status["bestTrial"]
    assert best["metric"] == pytest.approx(min(finals))
    assert best["iteration"] == STEPS
    # The stated quality: within 0.1 of the optimum (1/STEPS, at lr=0.01, width=48, relu),
    # where a config drawn at random is on average about 0.7 away.
    assert best["metric"] <= 1 / STEPS + 0.1
    assert best["config"]["activation"] == "relu"


def test_a_class_trainable_under_pbt_keeps_the_best_and_clones_it(local_ray, tmp_path):
    """PBT never perturbs its top trial: the one started at the best lr, ahead from the first
    step, ends at exactly 1 - 0.5**STEPS, and the bottom trials restart from its checkpoints
    (load_checkpoint)."""
    lrs = [BEST_LR, 0.001, 0.1, 0.0003]
    doc = campaign(
        "class-example",
        objective={"metric": "mean_accuracy", "mode": "max"},
        searchSpace=replace({"lr": {"type": "float", "min": 1e-4, "max": 1e-1, "log": True}}),
        strategy={"scheduler": {"type": "pbt", "timeAttr": "training_iteration",
                                "perturbationInterval": 2, "synch": True, "seed": 3},
                  "searcher": {"type": "random", "seed": 3,
                               "pointsToEvaluate": [{"lr": lr} for lr in lrs]}},
        budget={"trials": len(lrs), "maxConcurrentTrials": None,
                "maxIterationsPerTrial": STEPS},
        trainable={"entrypoint": "tests.support.tune_examples:PBTBenchmarkExample"},
        resources={"perTrial": {"cpu": 0.5}})
    status, last = hpo_run(tmp_path, doc)
    assert len(last) == len(lrs)
    best = status["bestTrial"]
    assert math.isclose(best["metric"], 1 - 0.5 ** STEPS, rel_tol=1e-12)
    assert best["config"]["lr"] == BEST_LR
    assert max(r["restored"] for r in last) >= 1
    # Every clone started from a better trial's state: all end above the worst lr alone.
    alone = 1 - (1 - 0.5 * math.exp(-((math.log10(0.0003) + 2) ** 2))) ** STEPS
    assert min(r["mean_accuracy"] for r in last) > alone
