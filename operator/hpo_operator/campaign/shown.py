"""Bounded quotes of what a user wrote: no message carries a value, or grows, without a limit.

A rejected value is quoted in validation messages, and messages end up in a campaign's status,
events and logs; a manifest may hold a megabyte string or a thousand levels of nesting. Quotes
are cut to a few dozen characters and messages to a byte budget, each with a visible marker.
"""

from __future__ import annotations

import json
import reprlib
from typing import Any

MAX_QUOTED_VALUE = 80
"""Characters of a rejected value quoted in a message."""
ELLIPSIS = "…"
TRUNCATED = " … [truncated]"


class _Repr(reprlib.Repr):
    """repr() with few items per container and few levels: cheap on any value."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple, self.maxset = 3, 4, 6, 6, 6
        self.maxstring = self.maxother = self.maxlong = limit + 2

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:  # str() of a huge int is slow, or refused past 4300 digits
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)


def quote(value: Any, limit: int = MAX_QUOTED_VALUE) -> str:
    """``repr(value)``, at most ``limit`` characters; a cut one ends with an ellipsis."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()  # as the manifest spells them
    try:
        text = _Repr(limit).repr(value)
    except Exception:  # a value whose repr fails must not hide the problem it illustrates
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + ELLIPSIS


def json_bytes(text: str) -> int:
    """Bytes ``text`` takes as a JSON string (quotes excluded), as the API server stores it."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def truncate(text: str, max_bytes: int) -> str:
    """``text`` if it takes at most ``max_bytes`` as JSON, else its longest prefix that does
    with the marker appended."""
    if len(text) * 6 <= max_bytes or json_bytes(text) <= max_bytes:
        return text
    budget = max_bytes - json_bytes(TRUNCATED)
    low, high = 0, min(len(text), budget)
    while low < high:  # the longest prefix within the budget
        middle = (low + high + 1) // 2
        if json_bytes(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low] + TRUNCATED
