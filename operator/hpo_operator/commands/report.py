"""``hpo report STATUS-or-DIR [--compare OTHER...]``: the time-to-solution figure and table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SOURCE_HELP = ("a campaign status JSON file (--status-file, or campaign-status.json) or an "
               "experiment directory written by hpo run (runs/NAME)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="plot and tabulate finished campaigns' time to solution")
    p.add_argument("campaign", metavar="STATUS-or-DIR", help=SOURCE_HELP)
    p.add_argument("--compare", nargs="+", default=[], metavar="OTHER",
                   help="more campaigns to draw on the same axes (status files or directories)")
    p.add_argument("--output", "-o", type=Path, default=Path("hpo-report.png"), metavar="FILE",
                   help="where to write the figure; the extension picks the format (png, pdf, "
                        "svg...). Default: hpo-report.png in the current directory")
    p.add_argument("--top-k", type=int, default=6, help="trials averaged (default 6, the guide's)")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="relative distance to the best value that counts as solved (default 0.05)")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from ..campaign.analysis import (
        NotACampaign,
        caveats,
        figure_formats,
        final_top_k_mean,
        load_history,
        plot,
        shared_reference,
        time_to_solution,
    )

    formats = figure_formats()
    extension = args.output.suffix.lstrip(".").lower()
    if extension not in formats:  # checked first: a run of analysis must not end in a traceback
        print(f"hpo report: cannot write a figure as {args.output}: give --output one of the "
              f"extensions {', '.join(formats)}", file=sys.stderr)
        return 2
    if args.top_k < 1:
        print("hpo report: --top-k must be at least 1", file=sys.stderr)
        return 2
    try:
        histories = [load_history(p) for p in [args.campaign, *args.compare]]
    except (NotACampaign, OSError) as exc:
        print(f"hpo report: {exc}", file=sys.stderr)
        return 2
    empty = [h.name for h in histories if not h.trials]
    if empty:
        print(f"hpo report: no results to plot in {', '.join(empty)}", file=sys.stderr)
        return 2
    k = args.top_k
    measured_by, reference = shared_reference(histories, k)  # fewer when a campaign had fewer
    print(f"{'campaign':<24}{'trials':>8}{'best ' + histories[0].metric:>16}"
          f"{f'top-{k} mean':>18}{'time to solution':>20}  note")
    finals = [final_top_k_mean(h, k) for h in histories]
    for h, final in zip(histories, finals, strict=True):
        tts = time_to_solution(h, reference, args.tolerance, measured_by)
        shown = f"{tts:.0f} s" if tts is not None else "not reached"
        mean = final.shown() if final is not None else "-"
        note = "; ".join(caveats(h, k))
        print(f"{h.name:<24}{len(h.trials):>8}{h.best_value():>16.4g}{mean:>18}{shown:>20}"
              f"  {note}".rstrip())
    if measured_by == k:
        solved = (f"mean of the top {k} trials within {args.tolerance:.0%} of {reference:.4g}, "
                  f"the lowest top-{k} mean any campaign reached")
    else:  # one measure for all: a campaign with fewer trials would otherwise get there sooner
        solved = (f"mean of the top {measured_by} trials within {args.tolerance:.0%} of "
                  f"{reference:.4g}, the lowest any campaign reached (top {measured_by}, not "
                  f"{k}: a campaign had only {measured_by} trials with results)")
    print(f"solved = {solved}; (n=N): a top-{k} mean of N < {k} trials")
    print(f"figure: {plot(histories, args.output, args.top_k)}")
    return 0
