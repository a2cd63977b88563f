"""One problem of a manifest: the field path it concerns, the rejected value, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .shown import quote


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where, what value, and why."""

    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (got {quote(self.value)})"  # bounded
        return f"{self.path}: {self.message}{shown}"
