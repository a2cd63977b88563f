"""Waiting for a condition instead of sleeping for a guess."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.5,
               message: str = "the condition") -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy; return it.

    It is called at least once, and once more at the deadline. After ``timeout`` seconds this
    raises :class:`TimeoutError` naming ``message`` (what was waited for) and the last value seen.
    An exception from ``predicate`` (a process that exited, say) ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {message}; "
                               f"last seen: {value!r}")
        time.sleep(min(interval, remaining))
