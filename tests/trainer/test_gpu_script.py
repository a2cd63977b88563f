"""benchmarks/gpu.sh, the prepared GPU run, in its CPU smoke mode: the whole script runs end to
end on tiny data (throughput of both loops, a two-trial campaign) and writes its results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import TINY

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.sh"


def test_the_cpu_smoke_mode_runs_the_whole_script(tiny_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out)}
    done = subprocess.run(["bash", str(SCRIPT), "--cpu-smoke"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    throughput = json.loads((out / "throughput.json").read_text())
    assert throughput["device"] == "cpu" and throughput["config"]["dataset"] == TINY
    for side in ("plain", "trainer"):
        assert throughput[side]["graphs_per_s"] > 0 and throughput[side]["epochs"] >= 1
        assert throughput[side]["gpu_utilisation_pct"] is None  # no nvidia-smi sampling here
    assert throughput["verdict"] == {"speedup_target": 3.0, "utilisation_target_pct": 80.0,
                                     "checked": False, "met": None}
    study = json.loads((out / "study.json").read_text())
    assert study["phase"] == "Succeeded" and study["trials_run"] >= 1
    assert study["gpu_per_trial"] == 0.0 and study["top_k_complete"] is False  # 2 trials < 6
    assert "done (cpu-smoke), exit 0" in (out / "gpu.log").read_text()


def test_the_script_refuses_an_unknown_mode(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(SCRIPT), "--fast"], capture_output=True, text=True,
                          env={**os.environ, "OUT": str(tmp_path)})
    assert done.returncode == 2 and "usage" in done.stderr


def benchmarks_module(name: str):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_nvidia_smi_samples_are_parsed() -> None:
    gpu_util = benchmarks_module("gpu_util")
    csv = "utilization.gpu [%]\n87 %\n91 %\n\n100 %\n4"  # the last line cut short by the stop
    assert gpu_util.parse(csv) == [87.0, 91.0, 100.0, 4.0]
    assert gpu_util.parse("utilization.gpu [%]\n") == []


def test_the_targets_are_judged_only_on_a_gpu() -> None:
    throughput = benchmarks_module("gpu_throughput")

    def result(speedup: float, util: float | None) -> dict:
        return {"speedup": speedup, "trainer": {"gpu_utilisation_pct": util}}

    assert throughput.verdict(result(3.5, 85.0), check=True)["met"] is True
    assert throughput.verdict(result(2.9, 95.0), check=True)["met"] is False
    assert throughput.verdict(result(4.0, 79.0), check=True)["met"] is False
    assert throughput.verdict(result(4.0, None), check=True)["met"] is False
    assert throughput.verdict(result(0.5, None), check=False)["met"] is None
