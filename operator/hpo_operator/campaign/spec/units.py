"""The units a manifest writes values in: durations (``"30m"``, ``"8h"``) and memory quantities."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")
# A Kubernetes memory quantity such as "8Gi" or "512M" (the forms a Ray pod's limits take).
QUANTITY_PATTERN = r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$"


def parse_duration(value: Any) -> float:
    """Seconds from ``3600``, ``"90s"``, ``"30m"``, ``"8h"`` or ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '30m' or '8h', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ValueError(f"expected a duration such as '90s', '30m' or '8h', got {value!r}")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds
