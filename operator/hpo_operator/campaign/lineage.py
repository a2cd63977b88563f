"""PBT and PB2 schedulers that log each exploit exactly and draw from their own seeded stream.

Tune's own policy logs (``pbt_global.txt``, ``pbt_policy_<trial>.txt``: one JSON row
``[target_tag, clone_tag, target_iteration, clone_iteration, clone_config, new_config]`` per
exploit, the per-trial file holding the trial's lineage) record the clone's *last reported*
iteration. That is not always the iteration of the checkpoint the target restores: in synchronous
mode the trial whose result completes a round has not had its ``last_result`` updated yet (one
iteration short). The checkpoint's own result is in PBT's trial state, so these subclasses add
one line per exploit to :data:`LINEAGE_FILE` with trial ids (not tags) and that iteration. The
result rows of the trials cannot stand in: Tune re-downloads ``result.json`` when it restarts a
paused trial and loses the rows written since the last sync.

Tune's PBT draws its exploits and explores from the global ``random`` (PB2 also from
``numpy.random``), which Ray's event loop draws from too, a timing-dependent number of times: a
seed set beforehand does not make a run repeatable. With a seed, these schedulers keep streams of
their own and swap them in around the calls that draw, so a synchronous campaign with the same
seed makes the same exploits whenever its trials report the same results.

Imported only when a PBT/PB2 campaign is built: this module imports Ray.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator

from ray.tune.schedulers import PopulationBasedTraining
from ray.tune.schedulers.pb2 import PB2

from .random_streams import PrivateRandomStreams
from .schedule import LINEAGE_FILE
from .tune_names import TRAINING_ITERATION as ITERATION


def _mutated(config: dict[str, Any], keys: Any) -> dict[str, Any]:
    return {k: config[k] for k in keys if k in config}


class _LogsLineage:
    """Mixin over Tune's ``_log_config_on_step`` (called once per exploit when log_config=True)."""

    _hyperparam_mutations: dict[str, Any]

    def _log_config_on_step(self, trial_state: Any, new_state: Any, trial: Any,
                            trial_to_clone: Any, new_config: dict) -> None:
        super()._log_config_on_step(  # type: ignore[misc]
            trial_state, new_state, trial, trial_to_clone, new_config)
        checkpoint_result = new_state.last_result or trial_to_clone.last_result or {}
        record = {
            "trial": trial.trial_id,
            "clone": trial_to_clone.trial_id,
            "iteration": int(checkpoint_result.get(ITERATION, 0)),
            "trialIteration": int((trial_state.last_result or {}).get(ITERATION, 0)),
            "cloneConfig": _mutated(trial_to_clone.config, self._hyperparam_mutations),
            "config": _mutated(new_config, self._hyperparam_mutations),
        }
        path = os.path.join(trial.local_experiment_path, LINEAGE_FILE)
        with open(path, "a") as f:
            f.write(json.dumps(record, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    """numpy scalars (PB2's suggestions) as plain numbers."""
    return value.item() if hasattr(value, "item") else str(value)


class _OwnRandomStreams:
    """Mixin: the scheduler's draws come from its own ``random`` and ``numpy`` streams."""

    def __init__(self, *args: Any, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Unseeded, the draws stay on the global streams, as in Tune.
        self._streams = PrivateRandomStreams(seed) if seed is not None else None

    @contextmanager
    def _own_streams(self) -> Iterator[None]:
        if self._streams is None:
            yield
            return
        with self._streams.active():
            yield

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        with self._own_streams():
            super().on_trial_add(tune_controller, trial)  # type: ignore[misc]

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        with self._own_streams():
            return super().on_trial_result(tune_controller, trial, result)  # type: ignore[misc]


class LineagePBT(_OwnRandomStreams, _LogsLineage, PopulationBasedTraining):
    """Tune's PopulationBasedTraining, plus the exact lineage log and its own random streams."""


class LineagePB2(_OwnRandomStreams, _LogsLineage, PB2):
    """Tune's PB2, plus the exact lineage log and its own random streams."""
