"""One process-wide slot for what the campaign running in this process registers.

Tune pickles a run's callbacks, stoppers and searchers with the experiment, and a restored
experiment calls the unpickled copies, not the objects of the process that resumes it. So those
objects hold no state of the run: they ask a slot, which the running campaign fills for the
length of its run. No Ray.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessSlot(Generic[T]):
    def __init__(self) -> None:
        self._current: T | None = None

    @property
    def current(self) -> T | None:
        return self._current

    @contextmanager
    def holding(self, value: T) -> Iterator[None]:
        """Fill the slot with ``value`` until the block ends, then restore what it held."""
        previous, self._current = self._current, value
        try:
            yield
        finally:
            self._current = previous
