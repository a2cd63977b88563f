"""``hpo validate MANIFEST...``: check manifests without running them."""

from __future__ import annotations

import argparse
import sys

from ..campaign.manifest import ManifestError, load_manifest


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check HPOCampaign manifests without running them")
    p.add_argument("manifests", nargs="+", metavar="MANIFEST")
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.manifests:
        try:
            campaign = load_manifest(path)
        except ManifestError as exc:
            failed += 1
            for problem in exc.problems:
                print(f"{path}: {problem}", file=sys.stderr)
            continue
        s = campaign.spec
        print(f"{path}: valid HPOCampaign {campaign.metadata.name!r}: "
              f"{len(s.search_space)} hyperparameters, {s.strategy.scheduler.type}/"
              f"{s.strategy.searcher.type}, {s.budget.trials} trials")
    return 1 if failed else 0
