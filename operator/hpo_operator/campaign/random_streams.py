"""Private random streams for library code that draws from the global ones.

Tune's PBT draws from Python's global ``random`` (PB2 and Dragonfly from ``numpy.random``), and
Ray's event loop draws from the same global ``random`` a timing-dependent number of times, so a
seed set once never makes such a run repeat. Code that must repeat runs those calls inside
:meth:`PrivateRandomStreams.active`: the global streams are swapped for private ones seeded once,
and put back afterwards, so other users of the global streams are undisturbed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class PrivateRandomStreams:
    """Python's and numpy's random states of one user, seeded once; picklable."""

    def __init__(self, seed: int | None) -> None:
        self._python: Any = random.Random(seed).getstate()
        self._numpy: Any = np.random.RandomState(seed).get_state()

    @contextmanager
    def active(self) -> Iterator[None]:
        outer = random.getstate(), np.random.get_state()
        random.setstate(self._python)
        np.random.set_state(self._numpy)
        try:
            yield
        finally:
            self._python, self._numpy = random.getstate(), np.random.get_state()
            random.setstate(outer[0])
            np.random.set_state(outer[1])
