"""``hpo validate MANIFEST...``: check manifests without running them."""

from __future__ import annotations

import argparse

from . import INVALID_MANIFEST, load_or_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check HPOCampaign manifests without running them")
    p.add_argument("manifests", nargs="+", metavar="MANIFEST",
                   help="HPOCampaign YAML file(s) to check")
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.manifests:
        campaign = load_or_report(path)
        if campaign is None:
            failed += 1
            continue
        s = campaign.spec
        print(f"{path}: valid HPOCampaign {campaign.metadata.name!r}: "
              f"{len(s.search_space)} hyperparameters, {s.strategy.scheduler.type}/"
              f"{s.strategy.searcher.type}, {s.budget.trials} trials")
    return INVALID_MANIFEST if failed else 0
