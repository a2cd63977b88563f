"""Reading and writing structure files: ASE databases and extended XYZ.

Generated and user data sets go through the same reader, so a user can point the trainer at an
ASE database (``.db``) or an extended XYZ file (``.extxyz``/``.xyz``) whose structures carry the
regression target. The target is looked up, for a key ``K`` (default ``adsorption_energy``), in

1. ``atoms.info[K]`` (extended XYZ comment-line key, e.g. ``adsorption_energy=-0.42``),
2. the database row's key-value pairs or ``data`` (``db.write(atoms, adsorption_energy=-0.42)``),
3. the attached calculator's results, so ``K="energy"`` reads a total energy stored by a
   single-point calculator (how extended XYZ and ASE db keep ``energy``).

Structures keep their ``tags``: the ASE convention (adsorbate atoms 0, slab layers 1, 2, ...)
lets the featuriser mark adsorbate atoms.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

DEFAULT_TARGET_KEY = "adsorption_energy"
SUFFIXES = (".db", ".extxyz", ".xyz")


class DatasetError(ValueError):
    """A data set file exists but cannot be used (format, empty, missing target key)."""


@dataclass(frozen=True)
class StructureSet:
    """Structures with their targets (eV), in file order."""

    path: Path
    target_key: str
    structures: list[Atoms]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.structures)


def _target(atoms: Atoms, row_values: dict[str, Any], key: str) -> float | None:
    for source in (atoms.info, row_values):
        if key in source:
            return float(source[key])
    calc = atoms.calc
    if calc is not None and key in getattr(calc, "results", {}):
        return float(calc.results[key])
    return None


def _read_db(path: Path, limit: int | None) -> list[tuple[Atoms, dict[str, Any]]]:
    from ase.db import connect

    out = []
    with connect(str(path)) as db:
        for row in db.select(limit=limit):
            values = dict(row.key_value_pairs)
            values.update(getattr(row, "data", None) or {})
            out.append((row.toatoms(), values))
    return out


def _read_xyz(path: Path, limit: int | None) -> list[tuple[Atoms, dict[str, Any]]]:
    from ase.io import read

    index = ":" if limit is None else f":{limit}"
    images = read(str(path), index=index, format="extxyz")
    return [(atoms, {}) for atoms in images]


def read_structures(path: str | os.PathLike[str], target_key: str = DEFAULT_TARGET_KEY,
                    max_structures: int | None = None) -> StructureSet:
    """Read the structures and targets of ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DatasetError: unknown suffix, unreadable file, no structures, or a structure without
            ``target_key`` (the message names the file, the key and the structure index).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"data set file {str(path)!r} does not exist")
    if path.suffix not in SUFFIXES:
        raise DatasetError(f"data set file {str(path)!r} has suffix {path.suffix!r}; "
                           f"expected one of {', '.join(SUFFIXES)}")
    if max_structures is not None and max_structures < 1:
        raise DatasetError(f"max_structures must be at least 1, but got {max_structures}")
    reader = _read_db if path.suffix == ".db" else _read_xyz
    try:
        rows = reader(path, max_structures)
    except Exception as exc:  # ASE raises many types for malformed files
        raise DatasetError(f"cannot read data set file {str(path)!r}: "
                           f"{type(exc).__name__}: {exc}") from exc
    if not rows:
        raise DatasetError(f"data set file {str(path)!r} contains no structures")

    structures, targets = [], []
    for i, (atoms, values) in enumerate(rows):
        value = _target(atoms, values, target_key)
        if value is None:
            raise DatasetError(
                f"structure {i} of {str(path)!r} has no target {target_key!r} (looked in "
                f"atoms.info, database key-value pairs and calculator results; "
                f"found keys {sorted(set(atoms.info) | set(values))})")
        if not np.isfinite(value):
            raise DatasetError(f"structure {i} of {str(path)!r} has a non-finite "
                               f"{target_key!r}: {value}")
        structures.append(atoms)
        targets.append(value)
    return StructureSet(path, target_key, structures, np.asarray(targets, dtype=np.float64))


def write_extxyz_atomically(path: Path, structures: Sequence[Atoms]) -> None:
    """Write ``structures`` to ``path`` so that readers see either nothing or the whole file."""
    from ase.io import write

    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file lives in the same folder: os.replace is atomic only within a filesystem.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp, list(structures), format="extxyz")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other users' workers read it too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
