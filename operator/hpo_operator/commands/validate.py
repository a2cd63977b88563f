"""``hpo validate MANIFEST...``: check manifests without running them."""

from __future__ import annotations

import argparse

import yaml

from ..campaign.explain import resolved_settings
from . import INVALID_MANIFEST, load_or_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check HPOCampaign manifests without running them")
    p.add_argument("manifests", nargs="+", metavar="MANIFEST",
                   help="HPOCampaign YAML file(s) to check")
    p.add_argument("--explain", action="store_true",
                   help="print each valid manifest's strategy, budget, checkpoint and runtime "
                        "settings with every default filled in (YAML, one document each)")
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for i, path in enumerate(args.manifests):
        campaign = load_or_report(path)
        if campaign is None:
            failed += 1
            continue
        s = campaign.spec
        line = (f"{path}: valid HPOCampaign {campaign.metadata.name!r}: "
                f"{len(s.search_space)} hyperparameters, {s.strategy.scheduler.type}/"
                f"{s.strategy.searcher.type}, {s.budget.trials} trials")
        if not args.explain:
            print(line)
            continue
        print(("---\n" if i else "") + f"# {line}")
        print(yaml.safe_dump(resolved_settings(s), sort_keys=False, width=100), end="")
    return INVALID_MANIFEST if failed else 0
