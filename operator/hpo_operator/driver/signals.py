"""Stop signals during a run: every way a driver is told to stop saves the experiment first."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)


class _NoRestoreHint(logging.Filter):
    """Drops Tune's advice to call ``Tuner.restore()`` after an interrupt: a campaign resumes
    by running it again, as its own status message says."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Experiment has been interrupted")


_NO_RESTORE_HINT = _NoRestoreHint()


@contextmanager
def stop_signals_save_the_experiment() -> Iterator[None]:
    """For the duration of ``Tuner.fit()``: SIGTERM stops the run the way Ctrl-C does, and Tune's
    advice to restore by hand is not printed.

    Kubernetes (pod deletion, node drain), ``ray job stop`` and batch systems end a driver with
    SIGTERM, which would kill it before Tune saves the experiment; Tune saves on SIGINT and
    SIGUSR1. The first SIGTERM is passed on as SIGUSR1, whose Tune handler stays in place, so a
    stop signal sent alongside it (Slurm's script sends one) does not cut the final save short;
    a second SIGTERM ends the process as usual.
    """
    tune_logger = logging.getLogger("ray.tune.tune")
    tune_logger.addFilter(_NO_RESTORE_HINT)
    try:
        with _sigterm_stops_like_sigint():
            yield
    finally:
        tune_logger.removeFilter(_NO_RESTORE_HINT)


@contextmanager
def _sigterm_stops_like_sigint() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; an embedding caller keeps its own
        return

    def forward(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, previous)
        logger.warning("SIGTERM: stopping the campaign and saving it for a resume")
        signal.raise_signal(signal.SIGUSR1)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
