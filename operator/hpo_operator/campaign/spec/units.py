"""The units a manifest writes values in: durations (``"30m"``, ``"8h"``)."""

from __future__ import annotations

import math
import re
from typing import Any

from ..shown import quote
from .bounds import MAX_DURATION_TEXT

_NUMBER = r"([0-9]{1,12}(?:\.[0-9]{1,9})?)"
_DURATION = re.compile(rf"^\s*(?:{_NUMBER}\s*h)?\s*(?:{_NUMBER}\s*m)?\s*(?:{_NUMBER}\s*s)?\s*$")
DURATION_PATTERN = _DURATION.pattern


def parse_duration(value: Any) -> float:
    """Seconds from ``3600``, ``"90s"``, ``"30m"``, ``"8h"`` or ``"1h30m"``: finite and positive."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a duration such as '30m' or '8h', got {quote(value)}")
    if isinstance(value, str):
        match = _DURATION.match(value) if len(value) <= MAX_DURATION_TEXT else None
        if not match or not any(match.groups()):
            raise ValueError(f"expected a duration such as '90s', '30m' or '8h', "
                             f"got {quote(value)}")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    elif isinstance(value, int) and abs(value) > 2**53:
        raise ValueError(f"a duration of {quote(value)} seconds is beyond any limit")
    else:
        seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number, got {quote(value)}")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {quote(value)}")
    return seconds
