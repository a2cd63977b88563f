"""Test-wide set-up: the toy trainables importable by Ray workers, and a shared local Ray.

Test helpers live in the ``tests.support`` package and are imported by that name; pytest puts
the repository root on ``sys.path`` (tests/ is a package). Ray workers and the ``hpo``
processes the tests start inherit the environment, not ``sys.path``, so the repository root goes
on ``PYTHONPATH`` too: they import ``tests.support.trainables`` by its entrypoint string.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO

os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
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
