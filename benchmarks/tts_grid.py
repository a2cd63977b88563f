"""The regime grid: when does a scheduler pay? RS against ASHA/RS over trial length and space.

The guide's 5-10x gain came where a full trial was expensive next to the budget: RS finished few
of them. The grid varies that - ``maxT`` 4, 12 and 36 epochs, the compact and the guide's search
space - and reports, per cell, ASHA/RS's time-to-solution ratio against RS with its paired
bootstrap interval over seeds, in a table, a JSON file and one figure of the ratio over the grid.

    python benchmarks/time_to_solution.py --grid                  # 2 min per campaign (~72 min)
    python benchmarks/time_to_solution.py --grid --budget-min 60  # the whole grid in about 60 min
    python benchmarks/time_to_solution.py --grid --analyse DIR    # re-summarise a --keep DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from time_to_solution import SEEDS, manifest, prepare_data, run_campaign, strategies, workdir
from tts_summary import TOP_K, summarise

from hpo_operator.campaign.analysis import CampaignHistory, load_history

GRID_MAX_T = (4, 12, 36)
GRID_SPACES = ("compact", "guide")
GRID_STRATEGIES = ("RS", "ASHA/RS")
Cells = dict[tuple[str, int], dict[str, list[CampaignHistory]]]


def cells() -> list[tuple[str, int]]:
    return [(space, max_t) for space in GRID_SPACES for max_t in GRID_MAX_T]


def campaign_minutes(args: argparse.Namespace, seeds: int) -> float:
    """Each campaign's budget: the total shared equally, or ``--minutes`` (default 2)."""
    if args.budget_min:
        return args.budget_min / (len(cells()) * len(GRID_STRATEGIES) * seeds)
    return args.minutes or 2.0


def slug(name: str, space: str, max_t: int, seed: int) -> str:
    return f"{name.lower().replace('/', '-')}-{space}-t{max_t}-s{seed}"


def run_grid(args: argparse.Namespace, seeds: int, minutes: float) -> Cells:
    prepare_data()
    work = workdir(args)
    started = time.monotonic()
    results: Cells = {}
    for space, max_t in cells():
        for seed in range(seeds):
            for name in GRID_STRATEGIES:
                print(f"[{(time.monotonic() - started) / 60:5.1f} min] {space} maxT {max_t}: "
                      f"{name} seed {seed}", flush=True)
                variant = strategies(seed, max_t, space)[name]
                doc = manifest(slug(name, space, max_t, seed), variant, minutes, seed, space)
                results.setdefault((space, max_t), {}).setdefault(name, []).append(
                    run_campaign(doc, name, work))
    return results


def collect_grid(runs_dir: Path) -> Cells:
    """Grid campaigns kept by --keep (named ``<strategy>-<space>-t<maxT>-s<seed>``)."""
    results: Cells = {}
    for space, max_t in cells():
        for name in GRID_STRATEGIES:
            prefix = slug(name, space, max_t, 0)[:-1]
            for exp in sorted(runs_dir.glob(prefix + "*")):
                history = load_history(exp)
                history.name = name
                results.setdefault((space, max_t), {}).setdefault(name, []).append(history)
    return results


def summarise_grid(results: Cells, tolerance: float, top_k: int = TOP_K) -> list[dict]:
    """One row per cell: ASHA/RS's ratio against RS, its interval and what it allows to say."""
    rows = []
    for (space, max_t), runs in sorted(results.items()):
        budget_s = max(h.duration for hs in runs.values() for h in hs)
        summary = summarise(runs, tolerance, budget_s, top_k)
        asha, rs = summary["strategies"]["ASHA/RS"], summary["strategies"]["RS"]
        rows.append({
            "space": space, "max_t": max_t, "budget_s": round(budget_s),
            "seeds": len(asha["time_to_solution_s"]),
            "tts_speedup_vs_rs": asha["tts_speedup_vs_rs"],
            "tts_speedup_interval": asha["tts_speedup_interval"],
            "tts_claim": asha["tts_claim"],
            "tts_speedup_bound": asha["tts_speedup_bound"],
            "time_to_solution_s": {"RS": rs["time_to_solution_s"],
                                   "ASHA/RS": asha["time_to_solution_s"]},
            "trials_ratio_vs_rs": asha["trials_ratio_vs_rs"],
            "top_k_complete": rs["top_k_complete"] and asha["top_k_complete"],
            "top_k_per_seed": summary["top_k_per_seed"],
        })
    return rows


def plot_grid(rows: list[dict], output: Path) -> Path:
    """ASHA/RS's time-to-solution ratio against RS over maxT, one line per space, with the
    bootstrap intervals as error bars and the break-even line at 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, space in enumerate(sorted({r["space"] for r in rows})):
        mine = sorted((r for r in rows if r["space"] == space), key=lambda r: r["max_t"])
        xs = [r["max_t"] * (1.04 if i else 0.96) for r in mine]  # apart, not on top of each other
        ys = [r["tts_speedup_vs_rs"] for r in mine]
        low = [y - (r["tts_speedup_interval"] or [y, y])[0] for y, r in zip(ys, mine)]
        high = [(r["tts_speedup_interval"] or [y, y])[1] - y for y, r in zip(ys, mine)]
        ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=4, label=f"{space} space")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted({r["max_t"] for r in rows})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    for formatter in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
        formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 0.5, 1, 2: not 10^0
    ax.set(xlabel="maxT (epochs a full trial trains)",
           ylabel="time-to-solution ratio RS / ASHA-RS", title="When does ASHA pay? (>1: it does)")
    ax.legend()
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


def main(args: argparse.Namespace) -> None:
    seeds = args.seeds or SEEDS
    minutes = campaign_minutes(args, seeds)
    if args.analyse:
        results = collect_grid(args.analyse / "runs")
    else:
        total = len(cells()) * len(GRID_STRATEGIES) * seeds
        print(f"grid: {len(cells())} cells x {len(GRID_STRATEGIES)} strategies x {seeds} seeds "
              f"= {total} campaigns of {minutes:.1f} min (~{total * minutes:.0f} min)", flush=True)
        results = run_grid(args, seeds, minutes)
    rows = summarise_grid(results, args.tolerance)
    output = args.output / "grid"
    output.mkdir(parents=True, exist_ok=True)
    (output / "time_to_solution_grid.json").write_text(json.dumps(
        {"tolerance": args.tolerance, "top_k": TOP_K, "cells": rows}, indent=2) + "\n")
    figure = plot_grid(rows, output / "time_to_solution_grid.png")
    print(f"\n{'space':<9}{'maxT':>5}{'seeds':>6}{'TTS x RS/ASHA [95% CI]':>26}{'claim':>18}"
          f"{'trials x':>10}")
    for r in rows:
        interval = r["tts_speedup_interval"]
        shown = f"{r['tts_speedup_vs_rs']:.2f}" + (
            f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")
        print(f"{r['space']:<9}{r['max_t']:>5}{r['seeds']:>6}{shown:>26}{r['tts_claim']:>18}"
              f"{r['trials_ratio_vs_rs']:>10.2f}")
    print(f"figure {figure}")
