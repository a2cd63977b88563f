"""The packages stay readable: no module over 300 lines, no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hpo_operator
import hpo_trainer

MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
PACKAGES = [Path(hpo_operator.__file__).parent, Path(hpo_trainer.__file__).parent]


def modules(package: Path) -> list[Path]:
    found = sorted(package.rglob("*.py"))
    assert found
    return found


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_modules_are_short(package: Path) -> None:
    long = {str(p.relative_to(package)): n for p in modules(package)
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_functions_are_short(package: Path) -> None:
    long = {}
    for path in modules(package):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(package)}:{node.name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
