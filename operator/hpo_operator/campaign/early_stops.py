"""Which trials a scheduler stopped early: what tells "stopped" from "completed" in the status.

Tune marks every ended trial TERMINATED, whether it returned, reached a limit or was cut by the
scheduler. The schedulers of :mod:`.stop_recording` note each trial they cut as unpromising here:
in a file of the experiment directory (a resumed run reads it back) and to the listener that the
campaign running in this process registers with :func:`reporting_to`. No Ray.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .process_slot import ProcessSlot

logger = logging.getLogger(__name__)

EARLY_STOPS_FILE = "early_stops.txt"  # one trial id per line


class _Run:
    """The campaign running in this process: its listener, and its files, open for the run (an
    ASHA campaign stops most of its trials early: one open per stop would cost more than the
    line it writes)."""

    def __init__(self, listener: Callable[[str], None]) -> None:
        self.listener = listener
        self.files: dict[Path, TextIO] = {}

    def file(self, path: Path) -> TextIO:
        if (f := self.files.get(path)) is None:
            f = self.files[path] = open(path, "a", buffering=1)  # each line written as it ends
        return f


_run: ProcessSlot[_Run] = ProcessSlot()


@contextmanager
def reporting_to(listener: Callable[[str], None]) -> Iterator[None]:
    """Send the id of every trial a scheduler stops early in this process to ``listener``."""
    run = _Run(listener)
    try:
        with _run.holding(run):
            yield
    finally:
        for f in run.files.values():
            f.close()


def record(experiment_dir: str | Path, trial_id: str) -> None:
    """Note that the scheduler stopped ``trial_id`` early (never raises: the run goes on)."""
    path, run = Path(experiment_dir) / EARLY_STOPS_FILE, _run.current
    try:
        if run is None:
            with open(path, "a") as f:
                f.write(trial_id + "\n")
        else:
            run.file(path).write(trial_id + "\n")
    except OSError as exc:
        logger.warning("cannot note the early stop of trial %s: %s", trial_id, exc)
    if run is not None:
        run.listener(trial_id)


def read(experiment_dir: str | Path) -> set[str]:
    """The trials stopped early in the experiment so far (none when nothing was noted)."""
    try:
        text = (Path(experiment_dir) / EARLY_STOPS_FILE).read_text()
    except OSError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}
