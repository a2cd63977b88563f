"""The trainer stays readable: no module over 300 lines, no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

import hpo_trainer

MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
PACKAGE = Path(hpo_trainer.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_modules_are_short() -> None:
    assert MODULES
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_are_short() -> None:
    long = {}
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
