"""Which trials a scheduler stopped early: what tells "stopped" from "completed" in the status.

Tune marks every ended trial TERMINATED, whether it returned, reached a limit or was cut by the
scheduler. The schedulers of :mod:`.stop_recording` note each trial they cut as unpromising here:
in a file of the experiment directory (a resumed run reads it back) and to the listener that the
campaign running in this process registers with :func:`reporting_to`. No Ray.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from .process_slot import ProcessSlot

logger = logging.getLogger(__name__)

EARLY_STOPS_FILE = "early_stops.txt"  # one trial id per line

_listener: ProcessSlot[Callable[[str], None]] = ProcessSlot()
# Send the id of every trial a scheduler stops early in this process to a listener.
reporting_to = _listener.holding


def record(experiment_dir: str | Path, trial_id: str) -> None:
    """Note that the scheduler stopped ``trial_id`` early (never raises: the run goes on)."""
    try:
        with open(Path(experiment_dir) / EARLY_STOPS_FILE, "a") as f:
            f.write(trial_id + "\n")
    except OSError as exc:
        logger.warning("cannot note the early stop of trial %s: %s", trial_id, exc)
    if (listener := _listener.current) is not None:
        listener(trial_id)


def read(experiment_dir: str | Path) -> set[str]:
    """The trials stopped early in the experiment so far (none when nothing was noted)."""
    try:
        text = (Path(experiment_dir) / EARLY_STOPS_FILE).read_text()
    except OSError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}
