"""What needs no Ray works where Ray cannot be imported: the operator image, a broken Slurm job.

Each check runs in a fresh interpreter whose ``sitecustomize`` makes every ``import ray`` fail as
it does where Ray is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import hpo_operator

BLOCKER = '''\
import sys


class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoRay())
'''

# Modules whose docstrings promise no Ray, and the core and rendering that the operator uses.
MODULES = [
    "hpo_operator.slurm.finalize",  # the batch script's exit trap, in a possibly broken job
    "hpo_operator.campaign.progress",
    "hpo_operator.campaign.schedule",
    "hpo_operator.searchers",  # registers its searchers without importing them
    "hpo_operator.campaign.spec",
    "hpo_operator.campaign.manifest",
    "hpo_operator.campaign.rules",
    "hpo_operator.campaign.status",
    "hpo_operator.campaign.status_io",
    "hpo_operator.campaign.experiment",
    "hpo_operator.driver",  # the package itself; its run imports Ray once a campaign starts
    "hpo_operator.campaign.registry",
    "hpo_operator.campaign.strategies",
    "hpo_operator.kuberay.render",
    "hpo_operator.kuberay.crd",
    "hpo_operator.controller.handlers",  # the operator image installs no Ray
]


@pytest.fixture
def no_ray_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    path = [str(tmp_path), str(Path(hpo_operator.__file__).parents[1]),
            *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_modules_that_need_no_ray_import_without_it(no_ray_env):
    code = "\n".join([
        "import importlib, sys",
        "try:",
        "    import ray",
        "except ModuleNotFoundError:",
        "    pass",
        "else:",
        "    raise SystemExit('ray imported: the blocker does not work')",
        f"for name in {MODULES!r}:",
        "    importlib.import_module(name)",
        "from hpo_operator.cli import build_parser",
        "build_parser()  # every command's module, as `hpo operator` loads them",
        "assert not [m for m in sys.modules if m.split('.')[0] == 'ray'], 'ray half-imported'",
    ])
    result = run(["-c", code], no_ray_env)
    assert result.returncode == 0, result.stderr


def test_slurm_finalize_runs_without_ray(no_ray_env):
    result = run(["-m", "hpo_operator.slurm.finalize", "--help"], no_ray_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m hpo_operator.slurm.finalize")
