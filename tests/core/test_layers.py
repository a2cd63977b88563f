"""The package keeps its layers: the import contracts of pyproject.toml hold, and they can fail.

The contracts ([tool.importlinter]) are checked by import-linter's ``lint-imports``, from the
environment that runs the tests, against the ``hpo_operator`` the tests import. The second test
breaks each contract in a copy of the package, so a contract that no longer checks anything
(a renamed package, a layer that matches nothing) fails here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import hpo_operator

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
PACKAGE = Path(hpo_operator.__file__).parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# Module of the copy -> its source; each breaks one contract.
VIOLATIONS = {
    "campaign/_upward.py": "from ..searchers import dragonfly_space\n",  # layers
    "campaign/_kube.py": "import kubernetes.client\n",  # the core's forbidden imports
    "slurm/_kopf.py": "import kopf\n",  # no kopf below the controller
    "driver/__init__.py": "from ..controller import reconcile\n",  # driver and controller independent
}


def lint_imports(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: install the test extra"
    env = {**os.environ, "PYTHONPATH": str(package_parent)}  # this hpo_operator, no other
    return subprocess.run([str(LINT_IMPORTS), "--config", str(PYPROJECT), "--no-cache"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_import_contracts(tmp_path):
    result = lint_imports(PACKAGE.parent, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_each_contract_catches_an_import_that_breaks_it(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "hpo_operator",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for module, source in VIOLATIONS.items():
        path = copy / "hpo_operator" / module
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
    result = lint_imports(copy, tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Contracts: 0 kept, 3 broken." in out, out
    words = " ".join(out.split())
    for importer, imported in [
        ("hpo_operator.campaign._upward", "hpo_operator.searchers.dragonfly_space"),
        ("hpo_operator.campaign._kube", "kubernetes"),  # external packages count as one
        ("hpo_operator.slurm._kopf", "kopf"),
        ("hpo_operator.driver", "hpo_operator.controller.reconcile"),
    ]:
        assert f"- {importer} -> {imported} (l.1)" in words, (importer, out)
