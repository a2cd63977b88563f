"""Values a manifest holds without a schema of ours: choice values, warm-start points and the
trainable's free-form config. They must be JSON (what the API server stores and the driver's
ConfigMap carries), finite, within int64, and bounded in size and depth.

The checks walk a value iteratively and stop at the first excess, so a value that is huge, deeply
nested or shared many times over (YAML aliases) costs no more than the bound to refuse.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from ..shown import quote
from . import bounds


def _number_problem(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) \
            and not bounds.INT64_MIN <= value <= bounds.INT64_MAX:
        return f"{quote(value)} is beyond the 64-bit integers Kubernetes stores"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{quote(value)} is not a finite number"
    return None


def _not_json(value: Any) -> str:
    hint = " (quote it to pass a string)" if type(value).__module__ == "datetime" else ""
    return f"{quote(value)} is a {type(value).__name__}, not a JSON value{hint}"


def scalar(value: Any) -> Any:
    """A choice value or warm-start value: a boolean, a number or a short printable string."""
    if isinstance(value, (bool, int, float)):
        problem = _number_problem(value)
        if problem:
            raise ValueError(problem)
        return value
    if isinstance(value, str):
        if len(value.encode()) > bounds.MAX_CHOICE_BYTES:
            raise ValueError(f"{quote(value)} is longer than {bounds.MAX_CHOICE_BYTES} bytes "
                             "(UTF-8)")
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise ValueError(f"{quote(value)} holds control characters")
        return value
    raise ValueError(f"must be a string, a number or a boolean, got {_not_json(value)}")


ScalarValue = Annotated[Any, AfterValidator(scalar), WithJsonSchema({
    "maxLength": bounds.MAX_CHOICE_BYTES,
    "description": "A string, number or boolean."})]


def _size(value: Any) -> int:
    """JSON bytes of a JSON value, or of a container's brackets (its items are counted one by
    one); 0 for what is not JSON (refused next)."""
    if isinstance(value, str):
        return len(value.encode()) + 2
    if isinstance(value, (dict, list)):
        return 2
    if value is None or isinstance(value, bool):
        return 6
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    return len(repr(value)) if isinstance(value, float) else 0


def _where(path: tuple[Any, ...]) -> str:
    shown = "".join(f"[{p}]" if isinstance(p, int) else "." + (p if len(p) <= 32 else p[:31] + "…")
                    for p in path)
    return f" (at {shown.lstrip('.')})" if path else ""


def json_tree(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` when it is a JSON object within the config bounds, else ValueError saying where
    it is not."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    total = 0
    while stack:
        node, path = stack.pop()
        total += _size(node) + (len(str(path[-1]).encode()) + 3 if path else 0)
        if total > bounds.MAX_CONFIG_BYTES:
            raise ValueError(f"is larger than {bounds.MAX_CONFIG_BYTES // 1024} KiB as JSON"
                             f"{_where(path)}")
        if len(path) > bounds.MAX_CONFIG_DEPTH:
            raise ValueError(f"nests deeper than {bounds.MAX_CONFIG_DEPTH} levels{_where(path)}")
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise ValueError(f"mapping key {quote(key)} is not a string"
                                     f"{_where(path)}")
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, i)) for i, child in enumerate(node))
        elif isinstance(node, (str, bool, int, float)) or node is None:
            problem = _number_problem(node)
            if problem:
                raise ValueError(problem + _where(path))
        else:
            raise ValueError(_not_json(node) + _where(path))
    return value
