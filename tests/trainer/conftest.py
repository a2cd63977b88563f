"""Fixtures for the trainer tests: a private data cache and the tiny generated data set.

Every test here runs against a cache folder of its own session (``HPO_DATA_DIR``), so the tests
never read or write the user's ``~/.cache`` and always exercise generation once.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

# The operator image has no torch: skip this folder there instead of failing at import.
if any(importlib.util.find_spec(m) is None for m in ("torch", "torch_geometric", "ase", "ray")):
    collect_ignore_glob = ["test_*.py"]

TINY = "emt-adsorption-tiny"


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("hpo-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HPO_DATA_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def tiny_path(data_dir: Path) -> Path:
    from hpo_trainer.data import ensure_generated

    return ensure_generated(TINY)


@pytest.fixture(scope="session")
def tiny_structures(tiny_path: Path):  # -> StructureSet
    from hpo_trainer.data import read_structures

    return read_structures(tiny_path)
