"""The time-to-solution study's summary: per-seed levels, ratios against RS, and how sure they are.

Kept apart from the script that runs the campaigns so that it can be tested on constructed
histories (tests/core/test_time_to_solution_study.py) and reused by the regime grid.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

from hpo_operator.campaign.analysis import (  # noqa: E402
    CampaignHistory,
    final_top_k_mean,
    shared_reference,
    time_to_solution,
)

TOP_K = 6  # the guide's metric: the mean of the best six trials
# PBT trains a small population for longer, to discover a schedule (the guide's separate study):
# it is reported beside the others but does not set the level they are asked to reach.
NOT_IN_REFERENCE = {"PBT"}
RESAMPLES = 10_000
LEVEL = 0.95
BOOTSTRAP_SEED = 0  # fixed: the same histories always give the same interval


def bootstrap_interval(ratios: list[float], resamples: int = RESAMPLES, level: float = LEVEL,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """A percentile bootstrap interval of the geometric mean of per-seed ratios.

    Paired: each ratio compares two strategies run with the same seed (the same configurations
    in the same order), so seeds are resampled whole, never one strategy's runs apart from the
    other's. None for a single seed, whose spread cannot be estimated. With three seeds the 95 %
    interval runs from the lowest to the highest per-seed ratio (each seed drawn three times has
    probability 1/27 > 2.5 %): it excludes 1 only when every seed agrees.
    """
    if len(ratios) < 2:
        return None
    logs = np.log(np.asarray(ratios, dtype=float))
    draws = np.random.default_rng(seed).integers(0, len(logs), size=(resamples, len(logs)))
    means = np.exp(logs[draws].mean(axis=1))
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def claim(interval: tuple[float, float] | None) -> str:
    """What a ratio's interval allows one to say: ``faster``/``slower`` than RS only when it
    excludes 1."""
    if interval is None:
        return "one seed: no interval"
    low, high = interval
    return "faster" if low > 1 else "slower" if high < 1 else "not established"


def summarise(runs: dict[str, list[CampaignHistory]], tolerance: float, budget_s: float,
              top_k: int = TOP_K) -> dict:
    """The guide's time to solution, seed by seed: when a campaign's top-k mean first comes within
    ``tolerance`` of the lowest top-k mean any compared strategy reached with that seed. Within a
    seed every strategy is measured by the same k: ``top_k``, or the fewest trials with results
    any compared strategy had (``top_k_per_seed``).

    Per seed, because the same seed gives RS, ASHA/RS and AHB/RS the same configurations in the
    same order: the schedulers differ only in what they stop, so the pairing removes the luck of
    the draw. A strategy that never got there is credited with the whole budget: its ratio is then
    a bound, marked with its direction. Each ratio has a paired bootstrap interval over seeds.
    """
    seeds = min(len(hs) for hs in runs.values())
    references, ks = [], []
    for seed in range(seeds):
        compared = [hs[seed] for name, hs in runs.items() if name not in NOT_IN_REFERENCE]
        k, reference = shared_reference(compared, top_k)  # k: fewer when a campaign had fewer
        ks.append(k)
        references.append(reference)
    tts = {name: [time_to_solution(hs[seed], references[seed], tolerance, ks[seed])
                  for seed in range(seeds)] for name, hs in runs.items()}
    table = {name: _row(histories[:seeds], tts[name], tts["RS"], budget_s, top_k, name == "RS")
             for name, histories in runs.items()}
    for row in table.values():
        row["trials_ratio_vs_rs"] = row["trials_run"] / table["RS"]["trials_run"]
    return {"reference_top_k_mean_per_seed": references, "top_k": top_k,
            "top_k_per_seed": ks, "tolerance": tolerance,
            "bootstrap": {"resamples": RESAMPLES, "level": LEVEL, "rng_seed": BOOTSTRAP_SEED,
                          "paired_over": "seeds"},
            "strategies": table}


def _row(histories: list[CampaignHistory], mine: list[float | None], rs: list[float | None],
         budget_s: float, top_k: int, is_rs: bool) -> dict:
    ratios = [_credited(r, budget_s) / _credited(t, budget_s) for r, t in zip(rs, mine)]
    interval = None if is_rs else bootstrap_interval(ratios)
    finals = [f for h in histories if (f := final_top_k_mean(h, top_k)) is not None]
    return {
        "trials_run": statistics.mean(len(h.trials) for h in histories),
        "best_val_mae": min(b for h in histories if (b := h.best_value()) is not None),
        "mean_best_val_mae": statistics.mean(h.best_value() or float("nan") for h in histories),
        f"final_top{top_k}_mean_val_mae": (statistics.mean(f.value for f in finals)
                                           if finals else None),
        # How many trials each seed's mean averages: fewer than top_k makes an easier mean.
        f"final_top{top_k}_n": [f.n for f in finals],
        "top_k_complete": all(f.complete for f in finals),
        "time_to_solution_s": mine,
        "reached": f"{sum(t is not None for t in mine)}/{len(mine)}",
        # Geometric mean: a 2x win and a 2x loss cancel out.
        "tts_speedup_vs_rs": statistics.geometric_mean(ratios),
        "tts_speedup_per_seed": ratios,
        "tts_speedup_interval": list(interval) if interval else None,
        "tts_claim": None if is_rs else claim(interval),
        "tts_speedup_bound": None if is_rs else _bound(rs, mine),
    }


def _credited(tts: float | None, budget_s: float) -> float:
    """A time to solution, or the whole budget for a campaign that never got there."""
    return budget_s if tts is None else max(tts, 1e-9)


def _bound(rs: list[float | None], mine: list[float | None]) -> str | None:
    """Which way the budget credit biases the ratio RS/mine: a strategy that never got there
    would have needed longer (the ratio is at most this: "upper"); RS missing makes it "lower"."""
    kinds = {"upper" if m is None else "lower" for r, m in zip(rs, mine) if (r is None) != (m is None)}
    kinds |= {"mixed" for r, m in zip(rs, mine) if r is None and m is None}
    return None if not kinds else kinds.pop() if len(kinds) == 1 else "mixed"


BOUND_MARK = {None: "", "upper": "<=", "lower": ">=", "mixed": "~"}


def ratio_text(row: dict) -> str:
    """``0.80 [0.52, 1.19]``, with the bound's direction in front when a seed missed."""
    text = BOUND_MARK[row["tts_speedup_bound"]] + format(row["tts_speedup_vs_rs"], ".2f")
    interval = row.get("tts_speedup_interval")
    return text + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")


def top_k_text(row: dict, top_k: int = TOP_K) -> str:
    """The final top-k mean, with the fewest trials it averaged when a seed had fewer."""
    if row[f"final_top{top_k}_mean_val_mae"] is None:
        return "-"
    text = format(row[f"final_top{top_k}_mean_val_mae"], ".4f")
    return text if row["top_k_complete"] else f"{text} (n={min(row[f'final_top{top_k}_n'])})"
