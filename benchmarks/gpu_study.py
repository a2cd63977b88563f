"""A short campaign of fractional-GPU trials: 8 at a time on one GPU, 0.125 GPU each.

ASHA/RS over the guide's search space, run through ``hpo run`` as a user would, with nvidia-smi
sampling the GPU while it runs. Writes ``study.json`` (trials run, epochs trained per second,
best and top-6 validation MAE with how many trials the mean covers, GPU utilisation),
``study.status.json`` (the campaign's status) and ``util-study.csv`` under ``--out``.

    python benchmarks/gpu_study.py --out gpu-results                 # 2.5 min on a GPU
    python benchmarks/gpu_study.py --out /tmp/x --cpu-smoke          # 2 tiny trials on the CPU

The smoke campaign has two trials of two epochs and ends when they have trained; ``--minutes``
is then only its limit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from gpu_util import Utilisation
from hpo_cli import hpo_run
from time_to_solution import manifest, strategies
from tts_summary import TOP_K

from hpo_operator.campaign.analysis import final_top_k_mean, load_history


def campaign(args: argparse.Namespace) -> dict:
    """The manifest: ASHA/RS, ``--concurrent`` trials of ``--gpu-fraction`` GPU each."""
    space = "compact" if args.cpu_smoke else "guide"
    max_t = 2 if args.cpu_smoke else 12
    dataset = "emt-adsorption-tiny" if args.cpu_smoke else "emt-adsorption"
    doc = manifest("gpu-fractional", strategies(0, max_t, space)["ASHA/RS"], args.minutes, 0,
                   space, dataset)
    spec = doc["spec"]
    spec["budget"].update(maxConcurrentTrials=args.concurrent, maxIterationsPerTrial=max_t)
    spec["resources"] = {"perTrial": {"cpu": 1, "gpu": args.gpu_fraction}}
    if args.cpu_smoke:
        spec["budget"]["trials"] = 2
        spec["trainable"]["config"].update(device="cpu", num_graph_conv_layers=1)
        spec["searchSpace"].pop("num_graph_conv_layers")
    return doc


def summary(status: dict, experiment: Path, util: Utilisation, args: argparse.Namespace) -> dict:
    history = load_history(experiment)
    epochs = sum(len(t.values) for t in history.trials)
    final = final_top_k_mean(history, TOP_K)
    return {
        "concurrent_trials": args.concurrent, "gpu_per_trial": args.gpu_fraction,
        "minutes": args.minutes, "phase": status.get("phase"),
        "trials_run": len(history.trials), "epochs_trained": epochs,
        "epochs_per_s": epochs / history.duration if history.duration else None,
        "best_val_mae": history.best_value(),
        f"final_top{TOP_K}_mean_val_mae": final.value if final else None,
        f"final_top{TOP_K}_n": final.n if final else 0,
        "top_k_complete": bool(final and final.complete),
        "trials": status.get("trials"),
        "gpu_utilisation_pct": util.mean(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=2.5)
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument("--gpu-fraction", type=float, default=0.125)
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="2 tiny trials, 2 at a time, no GPU")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        args.concurrent, args.gpu_fraction = 2, 0.0  # two trials: done when both have trained
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hpo-gpu-study-"))
    try:
        with Utilisation(args.out / "util-study.csv") as util:
            _, experiment, status = hpo_run(campaign(args), work)
        (args.out / "study.status.json").write_text(json.dumps(status, indent=2) + "\n")
        result = summary(status, experiment, util, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (args.out / "study.json").write_text(json.dumps(result, indent=2) + "\n")
    util_pct = result["gpu_utilisation_pct"]
    print(f"study: {result['phase']}, {result['trials_run']} trials ({args.concurrent} at a time, "
          f"{args.gpu_fraction:g} GPU each), {result['epochs_trained']} epochs, best val_mae "
          f"{result['best_val_mae']}, GPU busy {'-' if util_pct is None else f'{util_pct:.0f} %'}")
    return 0 if result["trials_run"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
