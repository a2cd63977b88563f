"""``hpo report STATUS-or-DIR [--compare OTHER...]``: the time-to-solution figure and table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="plot and tabulate finished campaigns' time to solution")
    p.add_argument("campaign", metavar="STATUS-or-DIR")
    p.add_argument("--compare", nargs="+", default=[], metavar="OTHER",
                   help="more campaigns to draw on the same axes")
    p.add_argument("--output", "-o", type=Path, default=Path("hpo-report.png"))
    p.add_argument("--top-k", type=int, default=6, help="trials averaged (default 6, the guide's)")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="relative distance to the best value that counts as solved (default 0.05)")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from ..campaign.analysis import load_history, plot, reference_level, time_to_solution

    try:
        histories = [load_history(p) for p in [args.campaign, *args.compare]]
    except (OSError, ValueError, KeyError) as exc:
        print(f"hpo report: {exc}", file=sys.stderr)
        return 2
    empty = [h.name for h in histories if not h.trials]
    if empty:
        print(f"hpo report: no results to plot in {', '.join(empty)}", file=sys.stderr)
        return 2
    bests = [h.best_value() for h in histories]
    reference = reference_level(histories, args.top_k)
    print(f"{'campaign':<24}{'trials':>8}{'best ' + histories[0].metric:>16}"
          f"{'time to solution':>20}")
    for h, best in zip(histories, bests):
        tts = time_to_solution(h, reference, args.tolerance, args.top_k)
        shown = f"{tts:.0f} s" if tts is not None else "not reached"
        print(f"{h.name:<24}{len(h.trials):>8}{best:>16.4g}{shown:>20}")
    print(f"solved = mean of the top {args.top_k} trials within {args.tolerance:.0%} of "
          f"{reference:.4g}, the lowest top-{args.top_k} mean any campaign reached")
    print(f"figure: {plot(histories, args.output, args.top_k)}")
    return 0
