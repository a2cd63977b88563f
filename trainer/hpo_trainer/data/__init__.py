"""Adsorption-energy data: generated with EMT (named data sets) or read from user files.

``load_structures("emt-adsorption")`` generates the named data set on first use and caches it;
``load_structures("/data/mine.db")`` reads a user's ASE database or extended XYZ file. Either way
the result is a :class:`StructureSet` of ASE ``Atoms`` with targets in eV.
"""

from __future__ import annotations

import os

from .catalog import DATASETS, DEFAULT_DATASET, cache_dir, ensure_generated, resolve
from .emt import GenerationSpec, gas_references, generate, make_structure
from .store import DEFAULT_TARGET_KEY, DatasetError, StructureSet, read_structures

__all__ = [
    "DATASETS", "DEFAULT_DATASET", "DEFAULT_TARGET_KEY", "DatasetError", "GenerationSpec",
    "StructureSet", "cache_dir", "ensure_generated", "gas_references", "generate",
    "load_structures", "make_structure", "read_structures", "resolve",
]


def load_structures(dataset: str | os.PathLike[str] = DEFAULT_DATASET,
                    target_key: str = DEFAULT_TARGET_KEY,
                    max_structures: int | None = None) -> StructureSet:
    """Structures and targets of a named data set or a user file (see :func:`resolve`)."""
    return read_structures(resolve(dataset), target_key=target_key, max_structures=max_structures)
