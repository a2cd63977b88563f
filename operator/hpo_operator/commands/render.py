"""``hpo render MANIFEST``: print what a backend would create for a campaign, without creating it."""

from __future__ import annotations

import argparse
import sys

from . import INVALID_MANIFEST, load_or_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="print the Kubernetes objects or Slurm batch script "
                                      "a campaign would get (a dry run)")
    p.add_argument("manifest", metavar="MANIFEST", help="the HPOCampaign YAML file to render")
    p.add_argument("--backend", choices=("kuberay", "slurm"), default="kuberay")
    from ..slurm.options import add_slurm_options

    add_slurm_options(p)
    p.set_defaults(func=render)


def render(args: argparse.Namespace) -> int:
    campaign = load_or_report(args.manifest)
    if campaign is None:
        return INVALID_MANIFEST
    if args.backend == "kuberay":
        from ..kuberay.render import render_yaml
        from ..kuberay.sizing import sizing_problems

        unfit = sizing_problems(campaign)
        for problem in unfit:
            print(f"hpo render: {problem}", file=sys.stderr)
        if unfit:
            return INVALID_MANIFEST
        sys.stdout.write(render_yaml(campaign))
    else:
        from ..slurm.options import SlurmOptionsError, options_from_args
        from ..slurm.script import render_batch_script

        try:
            sys.stdout.write(render_batch_script(campaign, options_from_args(args)))
        except SlurmOptionsError as exc:
            print(f"hpo render: {exc}", file=sys.stderr)
            return INVALID_MANIFEST
    return 0
