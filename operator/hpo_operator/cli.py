"""The ``hpo`` command line: one subcommand per module in :mod:`hpo_operator.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__

# Each module exposes ``register(subparsers)``; its parser sets ``func(args) -> exit code``.
COMMANDS = ("run", "validate", "report", "operator", "render", "slurm", "schedule", "reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo", description="Hyperparameter optimisation campaigns on Ray Tune: locally, "
        "on Kubernetes (KubeRay) or on Slurm, from one HPOCampaign manifest.")
    parser.add_argument("--version", action="version", version=f"hpo-operator {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        sys.stderr.close()
        return 0
