"""Test-wide set-up: toy trainables importable by Ray workers, and a shared local Ray."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"
REPO = Path(__file__).resolve().parents[1]

# Ray workers inherit the environment, not sys.path: both must name the toy trainables.
sys.path.insert(0, str(SUPPORT))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(SUPPORT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


@pytest.fixture(scope="session")
def local_ray():
    """One small local Ray for the whole session: starting Ray costs seconds on 2 cores."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def ray_temp_dir() -> Iterator[Path]:
    """A short directory for the ``--temp-dir`` of Ray nodes a test starts, removed afterwards:
    Ray's socket paths must stay under 108 bytes, and pytest's tmp_path is too deep for them."""
    path = Path(tempfile.mkdtemp(prefix="ray-hpo-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
