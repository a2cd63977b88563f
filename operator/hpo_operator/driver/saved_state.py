"""Make a saved experiment's trial list and its random/grid generator's state agree.

Tune saves the experiment state (the trials made so far) and the generator's state (how many
trials it has made, which are still live) as separate files, written and copied to storage one
after the other. A driver killed in between leaves one file from an older save than the other.
Restored as they are, the generator then either believes trials are live that the experiment
never recorded (with ``maxConcurrentTrials`` reached it makes no more trials: the campaign ends
or waits with fewer than ``budget.trials``), or it numbers new trials after ones that were lost,
or again like ones that exist. The experiment state is what the restored run holds, so the
generator is set to match it: as if it had made exactly the trials listed there.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

EXPERIMENT_STATE = "experiment_state-*.json"
GENERATOR_STATE = "basic-variant-state-*.json"


def saved_trials(state_file: Path) -> list[tuple[str, str]] | None:
    """(trial id, status) of each trial in an experiment state file, in the order made;
    None where the file cannot be read."""
    try:
        data = json.loads(state_file.read_text())
        states = [json.loads(entry[0]) for entry in data["trial_data"]]
        return [(s["trial_id"], s["status"]) for s in states]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def reconcile_generator(exp_dir: Path) -> str | None:
    """Rewrite the newest generator state in ``exp_dir`` to agree with the newest experiment
    state (the files Tune restores from); return what was changed, or None if nothing was."""
    states = sorted(exp_dir.glob(EXPERIMENT_STATE))
    generators = sorted(exp_dir.glob(GENERATOR_STATE))
    if not states or not generators:
        return None
    trials = saved_trials(states[-1])
    if trials is None:
        return None  # Tune's restore reports an unreadable experiment state itself
    from ray import cloudpickle

    try:
        state = cloudpickle.loads(generators[-1].read_bytes())
    except Exception:  # noqa: BLE001  (Tune's restore reports it)
        return None
    change = _reconcile(state, trials)
    if change is not None:
        tmp = generators[-1].with_name(f".{generators[-1].name}.tmp")
        tmp.write_bytes(cloudpickle.dumps(state))
        os.replace(tmp, generators[-1])
        logger.warning("the saved generator state disagreed with the saved trials (a run "
                       "stopped between two saves): %s", change)
    return change


def _reconcile(state: Any, trials: list[tuple[str, str]]) -> str | None:
    """Set a BasicVariantGenerator state dict to have made exactly ``trials``."""
    if not isinstance(state, dict) or len(state.get("_iterators") or ()) != 1:
        return None
    iterator = state["_iterators"][0]
    if state.get("_total_samples") != iterator.num_samples:
        return None  # a grid makes several trials a sample: its position is not a trial count
    made = len(trials)
    live = {trial_id for trial_id, status in trials if status != "TERMINATED"}
    if iterator.counter == made and state["_live_trials"] == live:
        return None
    change = (f"the generator had made {iterator.counter} trials with "
              f"{sorted(state['_live_trials'])} live; the experiment records {made} with "
              f"{sorted(live)} unfinished")
    # Presets are taken first, one a trial: those after the recorded trials are still to run.
    iterator.points_to_evaluate = copy.deepcopy(state.get("_points_to_evaluate", [])[made:])
    iterator.counter = made
    iterator.num_samples_left = max(0, iterator.num_samples - made)
    iterator.variants = None
    state["_live_trials"] = live
    state["_finished"] = False  # it finds out itself when it has no sample left
    return change
