"""A campaign's winner trained again from its record: ``hpo reproduce`` on the CGCNN workload."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.campaigns import campaign, replace, write

pytestmark = pytest.mark.slow

HPO = [sys.executable, "-m", "hpo_operator"]


def test_the_best_cgcnn_trial_is_reproduced_from_its_record(tmp_path: Path,
                                                            tiny_path: Path) -> None:
    doc = campaign(
        "cgcnn-repro",
        objective=replace({"metric": "val_mae", "mode": "min"}),
        searchSpace=replace({"lr": {"type": "float", "min": 3e-3, "max": 3e-2, "log": True}}),
        strategy=replace({"scheduler": {"type": "fifo"},
                          "searcher": {"type": "random", "seed": 3}}),
        budget=replace({"trials": 2, "maxConcurrentTrials": 2, "maxIterationsPerTrial": 2}),
        trainable=replace({"entrypoint": "hpo_trainer.cgcnn:CGCNNTrainable",
                           "config": {"dataset": str(tiny_path), "seed": 5, "num_threads": 1,
                                      "atom_embedding_size": 8, "num_graph_conv_layers": 1,
                                      "fc_feat_size": 16, "num_fc_layers": 1,
                                      "batch_size": 32}}))
    status_file = tmp_path / "status.json"
    run = subprocess.run([*HPO, "run", str(write(tmp_path, doc)), "--quiet", "--storage",
                          str(tmp_path / "runs"), "--status-file", str(status_file)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    best = json.loads(status_file.read_text())["bestTrial"]
    record = best["reproduce"]
    assert record["entrypoint"] == "hpo_trainer.cgcnn:CGCNNTrainable"
    assert record["config"]["lr"] == best["config"]["lr"] and record["config"]["seed"] == 5
    assert record["config"]["fc_feat_size"] == 16  # fixed values too, not only the searched
    assert record["seed"] == 5 and record["datasetFingerprint"].startswith("sha256:")
    assert {"hpo-operator", "ray", "torch", "python"} <= set(record["versions"])

    again = subprocess.run([*HPO, "reproduce", str(status_file), "--json"],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    comparison = json.loads(again.stdout)
    assert comparison["recorded"] == best["metric"]
    # Same seed, same data, one thread: training on the CPU repeats to rounding.
    assert comparison["relative_difference"] <= 1e-4, comparison
    assert comparison["same_data"] is True and comparison["version_changes"] == {}
