"""The test toolkit itself: what Ray workers and ``hpo`` subprocesses import is this checkout's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def test_subprocesses_import_the_toy_trainables_from_this_checkout(tmp_path: Path) -> None:
    """The environment the tests hand to Ray workers and subprocesses finds ``tests.support``
    here, not in an installed package named ``tests`` (some distributions ship one)."""
    probe = ("import importlib.util, tests\n"
             "print(tests.__file__)\n"
             "print(importlib.util.find_spec('tests.support.trainables').origin)\n")
    # Run elsewhere: a child's working directory would otherwise come first on its sys.path.
    done = subprocess.run([sys.executable, "-c", probe], env=os.environ, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(REPO / "tests" / "__init__.py"),
                                        str(REPO / "tests" / "support" / "trainables.py")]
