"""Subcommands of the ``hpo`` command line, one module each."""

from __future__ import annotations

import sys

from ..campaign.manifest import ManifestError, load_manifest
from ..campaign.spec import Campaign

INVALID_MANIFEST = 2  # the exit code of every command that refuses a manifest


def load_or_report(path: str) -> Campaign | None:
    """The campaign in ``path``, or None after printing each problem as ``path: problem``."""
    try:
        return load_manifest(path)
    except ManifestError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return None
