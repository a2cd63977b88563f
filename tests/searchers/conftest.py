"""Dragonfly tests fail, never skip, when dragonfly-opt is missing: CI installs it with
scripts/install-dragonfly.sh, and a silently skipped searcher is a broken searcher."""

from __future__ import annotations

import pytest

from hpo_operator.searchers.dragonfly import require_dragonfly


@pytest.fixture(autouse=True, scope="session")
def _dragonfly_installed() -> None:
    require_dragonfly()  # ImportError naming scripts/install-dragonfly.sh
