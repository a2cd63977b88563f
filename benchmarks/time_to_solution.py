"""Time-to-solution study: the guide's strategy comparison, on our CGCNN adsorption task.

Every strategy gets the same resources (2 trials at a time, 1 CPU each) and the same wall-clock
budget, over several seeds. For each it reports trials run, the best validation MAE, and the time
for the mean of the top-6 trials to come within a tolerance of the lowest level any strategy's
top-6 mean reached with the same seed, with ratios against random search (RS) and their paired
bootstrap intervals over seeds. It also draws the guide's figure.

    python benchmarks/time_to_solution.py             # the guide's space: 3 seeds x 2 min (~32 min)
    python benchmarks/time_to_solution.py --space compact     # the smaller space of earlier runs
    python benchmarks/time_to_solution.py --max-t 36 --only RS ASHA/RS   # longer trials
    python benchmarks/time_to_solution.py --grid      # maxT 4/12/36 x both spaces, RS vs ASHA/RS
    python benchmarks/time_to_solution.py --full      # 3 seeds x 30 min, for a GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "operator"))

from hpo_cli import hpo_run  # noqa: E402
from tts_summary import (  # noqa: E402, F401  (_bound and summarise: the study's API)
    NOT_IN_REFERENCE,
    TOP_K,
    _bound,
    ratio_text,
    summarise,
    top_k_text,
)

from hpo_operator.campaign.analysis import CampaignHistory, load_history, plot  # noqa: E402

# The guide's Dragonfly domain. Its snippet is cut off before batch_size's values: ours are the
# examples'. Its lr is a plain (not log) float, as Dragonfly's domain has no log scale.
GUIDE_SPACE = {
    "lr": {"type": "float", "min": 0.001, "max": 0.1},
    "batch_size": {"type": "choice", "values": [16, 32, 64, 128]},
    "atom_embedding_size": {"type": "int", "min": 1, "max": 100},
    "num_graph_conv_layers": {"type": "int", "min": 1, "max": 40},
    "fc_feat_size": {"type": "int", "min": 1, "max": 150},
    "num_fc_layers": {"type": "int", "min": 1, "max": 40},
}
# The smaller space of the study's first figures, sized so that a CPU trial stays cheap.
COMPACT_SPACE = {
    "lr": {"type": "float", "min": 3.0e-4, "max": 3.0e-2, "log": True},
    "batch_size": {"type": "choice", "values": [16, 32, 64, 128]},
    "atom_embedding_size": {"type": "int", "min": 8, "max": 64},
    "num_graph_conv_layers": {"type": "int", "min": 1, "max": 4},
    "fc_feat_size": {"type": "int", "min": 16, "max": 128},
    "num_fc_layers": {"type": "int", "min": 1, "max": 3},
}
SPACES = {"guide": GUIDE_SPACE, "compact": COMPACT_SPACE}
MAX_T = 12
SEEDS = 3


def strategies(seed: int, max_t: int = MAX_T, space: str = "guide") -> dict[str, dict]:
    """Strategy name -> spec.strategy (and any budget/space overrides)."""
    asha = {"type": "asha", "maxT": max_t, "gracePeriod": 1, "reductionFactor": 3}
    params = SPACES[space]
    return {
        "RS": {"strategy": {"scheduler": {"type": "fifo"},
                            "searcher": {"type": "random", "seed": seed}},
               "budget": {"maxIterationsPerTrial": max_t}},
        "ASHA/RS": {"strategy": {"scheduler": asha, "searcher": {"type": "random", "seed": seed}}},
        "AHB/RS": {"strategy": {"scheduler": {**asha, "type": "async_hyperband",
                                              "brackets": _brackets(max_t)},
                                "searcher": {"type": "random", "seed": seed}}},
        "ASHA/BO": {"strategy": {"scheduler": asha,
                                 "searcher": {"type": "dragonfly", "seed": seed}}},
        # PBT mutates algorithm hyperparameters only: the architecture is fixed mid-range.
        "PBT": {"strategy": {"scheduler": {"type": "pbt", "timeAttr": "training_iteration",
                                           "perturbationInterval": 3},
                             "searcher": {"type": "random", "seed": seed}},
                # The whole population at once: a smaller cap would run it in batches.
                "budget": {"trials": 4, "maxConcurrentTrials": 4,
                           "maxIterationsPerTrial": 4 * max_t},
                "searchSpace": {k: params[k] for k in ("lr", "batch_size")},
                "config": {"atom_embedding_size": 32, "num_graph_conv_layers": 2,
                           "fc_feat_size": 64, "num_fc_layers": 2}},
    }


def _brackets(max_t: int, most: int = 3) -> int:
    """Async HyperBand's brackets: 3, or fewer when fewer rungs (1, 3, 9... epochs) fall below
    ``max_t`` (a bracket without one would run every trial to the end)."""
    return max(1, min(most, sum(1 for k in range(most) if 3 ** k < max_t)))


def manifest(name: str, variant: dict, minutes: float, seed: int, space: str = "guide",
             dataset: str = "emt-adsorption") -> dict:
    budget = {"trials": 1000, "maxConcurrentTrials": 2, "timeLimit": f"{minutes * 60:.0f}s",
              **variant.get("budget", {})}
    return {
        "apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign", "metadata": {"name": name},
        "spec": {
            "objective": {"metric": "val_mae", "mode": "min"},
            "searchSpace": variant.get("searchSpace", SPACES[space]),
            "strategy": variant["strategy"],
            "budget": budget,
            "trainable": {"entrypoint": "hpo_trainer.cgcnn:CGCNNTrainable",
                          "config": {"dataset": dataset, "seed": seed,
                                     **variant.get("config", {})}},
            "resources": {"perTrial": {"cpu": 1}},
            # The guide's space holds configurations too large for a device: those trials fail
            # at once (ConfigTooLarge) and the campaign goes on.
            "runtime": {"failFast": False},
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=sorted(SPACES), default="guide",
                        help="guide: the guide's Dragonfly domain (default); compact: the "
                        "smaller space of the first figures")
    parser.add_argument("--full", action="store_true", help="3 seeds x 30 min per strategy")
    parser.add_argument("--minutes", type=float, help="wall-clock budget per campaign")
    parser.add_argument("--seeds", type=int, help=f"seeds per strategy (default {SEEDS})")
    parser.add_argument("--max-t", type=int, default=MAX_T,
                        help=f"epochs a trial trains at most (default {MAX_T}); longer trials "
                        "move the study towards the guide's regime, where RS finishes few trials")
    parser.add_argument("--only", nargs="+", help="strategies to run (default: all)")
    parser.add_argument("--tolerance", type=float, default=0.10,
                        help="relative distance to the best value that counts as solved")
    parser.add_argument("--grid", action="store_true",
                        help="the regime grid: maxT 4, 12, 36 x both spaces, RS vs ASHA/RS")
    parser.add_argument("--budget-min", type=float,
                        help="with --grid: total minutes, shared equally by its campaigns")
    parser.add_argument("--keep", type=Path, help="keep the experiment directories here")
    parser.add_argument("--output", type=Path, default=HERE / "results")
    parser.add_argument("--analyse", type=Path, metavar="DIR",
                        help="only summarise the campaigns kept in DIR by an earlier --keep")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.grid:
        import tts_grid

        return tts_grid.main(args)
    if args.analyse:
        return report(collect(args.analyse / "runs"), args)
    minutes = args.minutes or (30.0 if args.full else 2.0)
    seeds = args.seeds or SEEDS
    prepare_data()
    work = workdir(args)
    runs: dict[str, list[CampaignHistory]] = {}
    started = time.monotonic()
    for seed in range(seeds):
        for name, variant in strategies(seed, args.max_t, args.space).items():
            if args.only and name not in args.only:
                continue
            slug = name.lower().replace("/", "-") + f"-s{seed}"
            print(f"[{(time.monotonic() - started) / 60:5.1f} min] {name} seed {seed} "
                  f"({args.space} space)", flush=True)
            runs.setdefault(name, []).append(run_campaign(
                manifest(slug, variant, minutes, seed, args.space), name, work))
    report(runs, args)


def prepare_data(dataset: str = "emt-adsorption") -> None:
    """Generate (or load) the data set once, outside every campaign's clock."""
    subprocess.run([sys.executable, "-c", "from hpo_trainer.data import load_structures; "
                    f"load_structures({dataset!r})"], check=True)


def workdir(args: argparse.Namespace) -> Path:
    work = args.keep or Path(tempfile.mkdtemp(prefix="hpo-tts-"))
    work.mkdir(parents=True, exist_ok=True)
    return work


def run_campaign(doc: dict, name: str, work: Path) -> CampaignHistory:
    history = load_history(hpo_run(doc, work)[1])
    history.name = name
    return history


def collect(runs_dir: Path) -> dict[str, list[CampaignHistory]]:
    """Campaigns kept by --keep, grouped by strategy (their names are ``<strategy>-s<seed>``)."""
    names = {name.lower().replace("/", "-"): name for name in strategies(0)}
    runs: dict[str, list[CampaignHistory]] = {}
    for exp in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        slug = exp.name.rsplit("-s", 1)[0]
        if slug in names:
            history = load_history(exp)
            history.name = names[slug]
            runs.setdefault(names[slug], []).append(history)
    return {name: runs[name] for name in names.values() if name in runs}  # the study's order


def report(runs: dict[str, list[CampaignHistory]], args: argparse.Namespace) -> None:
    if "RS" not in runs:
        raise SystemExit("RS must be among the strategies: the ratios are against it")
    seeds = max(len(hs) for hs in runs.values())
    budget_s = max(h.duration for hs in runs.values() for h in hs)
    summary = summarise(runs, args.tolerance, budget_s)
    summary.update(seeds=seeds, cpus=os.cpu_count(), budget_s=round(budget_s),
                   space=args.space, max_t=args.max_t, search_space=SPACES[args.space])
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "time_to_solution.json").write_text(json.dumps(summary, indent=2) + "\n")
    figure = plot([hs[0] for hs in runs.values()], args.output / "time_to_solution.png",
                  title=f"Time to solution ({args.space} space, seed 0 of {seeds}, "
                        f"{budget_s / 60:.0f} min each)")
    print_table(summary, budget_s, args.tolerance)
    print(f"figure {figure}")


def print_table(summary: dict, budget_s: float, tolerance: float) -> None:
    print(f"\n{'strategy':<10}{'trials':>8}{'best MAE':>10}{'top-6 MAE':>15}"
          f"{'TTS per seed (s)':>18}{'TTS x vs RS [95% CI]':>24}{'claim':>18}{'trials x':>10}")
    for name, row in summary["strategies"].items():
        tts = " ".join(f"{t:.0f}" if t is not None else "-" for t in row["time_to_solution_s"])
        print(f"{name:<10}{row['trials_run']:>8.1f}{row['best_val_mae']:>10.4f}"
              f"{top_k_text(row):>15}{tts:>18}{ratio_text(row):>24}"
              f"{row['tts_claim'] or '':>18}{row['trials_ratio_vs_rs']:>10.2f}")
    levels = ", ".join(f"{r:.4f}" + (f" top-{k}" if k < TOP_K else "") for r, k in
                       zip(summary["reference_top_k_mean_per_seed"], summary["top_k_per_seed"]))
    print(f"solved: the top-{TOP_K} mean within {tolerance:.0%} of the lowest top-{TOP_K} "
          f"mean any strategy but {', '.join(sorted(NOT_IN_REFERENCE))} reached with the same "
          f"seed ({levels} eV; top-k: in that seed a strategy had only k trials with results, "
          f"and all are measured by their top k); '-' never got there and is credited with the "
          f"whole budget ({budget_s:.0f} s), making the ratio a bound (<= or >=; ~ when the "
          f"seeds disagree); "
          f"[CI]: paired bootstrap over seeds, a ratio is claimed only when it excludes 1; "
          f"(n=N): a top-{TOP_K} mean of only N trials")


if __name__ == "__main__":
    main()
