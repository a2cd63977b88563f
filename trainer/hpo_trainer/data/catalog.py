"""Named data sets, their on-disk cache, and resolution of a ``dataset`` config value.

A trial's ``dataset`` is either a name from :data:`DATASETS` or a path to a user file. Named
data sets are generated once and cached as extended XYZ under :func:`cache_dir`
(``$HPO_DATA_DIR``, else ``~/.cache/hpo-operator/datasets``). Many trials start at once on a
campaign's first wave, so generation is guarded twice:

* an exclusive ``fcntl`` lock next to the file: one process generates, the others wait and
  then read its result instead of generating the same data again;
* an atomic rename: a reader never sees a half-written file, even on filesystems where the lock
  is advisory only.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .emt import GenerationSpec, generate
from .store import SUFFIXES, write_extxyz_atomically

logger = logging.getLogger(__name__)

DEFAULT_DATASET = "emt-adsorption"

DATASETS: dict[str, GenerationSpec] = {
    # ~1000 structures: enough for HPO to separate good and bad configurations, and generated
    # in well under a minute on two cores.
    "emt-adsorption": GenerationSpec(size=1000, seed=0),
    # For tests and smoke runs: seconds to generate, seconds to train.
    "emt-adsorption-tiny": GenerationSpec(size=100, seed=0),
}

CACHE_ENV = "HPO_DATA_DIR"


def cache_dir() -> Path:
    """Folder of generated data sets and graph caches (``$HPO_DATA_DIR`` overrides)."""
    configured = os.environ.get(CACHE_ENV)
    base = Path(configured) if configured else Path.home() / ".cache" / "hpo-operator" / "datasets"
    return base.expanduser()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def generated_path(name: str) -> Path:
    """Where the named data set is (or will be) cached; the name carries the recipe's hash."""
    spec = DATASETS[name]
    return cache_dir() / f"{name}-{spec.fingerprint()}.extxyz"


def ensure_generated(name: str, workers: int | None = None) -> Path:
    """Path of the named data set, generating it first if no process has done so yet."""
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}")
    path = generated_path(name)
    if path.is_file():
        return path
    with file_lock(path.with_name(path.name + ".lock")):
        if path.is_file():  # another process generated it while we waited
            return path
        spec = DATASETS[name]
        logger.info("generating data set %s (%d structures) into %s", name, spec.size, path)
        start = time.perf_counter()
        structures = generate(spec, workers=workers)
        write_extxyz_atomically(path, structures)
        logger.info("generated %s in %.1f s", name, time.perf_counter() - start)
    return path


def resolve(dataset: str | os.PathLike[str]) -> Path:
    """Turn a ``dataset`` config value (a name or a path) into the path of a structure file.

    Raises:
        FileNotFoundError: neither a known name nor an existing file; the message lists both.
    """
    text = os.fspath(dataset)
    if text in DATASETS:
        return ensure_generated(text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"data set {text!r} is neither a known name ({', '.join(sorted(DATASETS))}) nor an "
            f"existing file (expected {', '.join(SUFFIXES)})")
    return path.resolve()
