"""One lock per campaign, for the operator's actions that must not overlap (see
:mod:`.campaigns`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CampaignLocks:
    """One lock per campaign, so that its status syncs and its clean-up run one at a time (RayJob
    and progress events arrive together; two threads could both see the same change and post its
    event twice). A campaign's lock lives while a thread holds or awaits it: deleted campaigns
    leave nothing behind, and a lock in use is never replaced by a second one."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, namespace: str, name: str) -> Iterator[None]:
        key = (namespace, name)
        with self._guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users = self._locks[key][1] - 1
                if users:
                    self._locks[key] = (lock, users)
                else:
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
