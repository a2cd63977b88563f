"""The campaign's Ray Tune callback.

Tune pickles a run's callbacks with the experiment, and a restored experiment calls the unpickled
copies, not the callbacks of the process that resumes it. So this callback holds no state: it
forwards every event to the campaign running in this process, registered with
:func:`reporting_to` (a :class:`~..campaign.process_slot.ProcessSlot`). Imports Ray; the driver imports this module only once a run starts.
"""

from __future__ import annotations

from typing import Any, Protocol

from ray.tune import Callback

from ..campaign.process_slot import ProcessSlot
from .trial_failures import adopt, preempted_last


class TrialEvents(Protocol):
    def step_begin(self) -> None: ...
    def step_end(self, trials: list[Any]) -> None: ...
    def trial_started(self, trial: Any) -> None: ...
    def trial_reported(self, trial: Any, result: dict[str, Any]) -> None: ...
    def trial_completed(self, trial: Any) -> None: ...
    def trial_errored(self, trial: Any) -> None: ...
    def trial_preempted(self, trial: Any) -> None: ...
    def trial_failed_for_good(self) -> bool: ...


_listener: ProcessSlot[TrialEvents] = ProcessSlot()
# Send the events of every CampaignCallback in this process to a listener.
reporting_to = _listener.holding


def current_listener() -> TrialEvents | None:
    return _listener.current


class CampaignCallback(Callback):
    # Trials up to this index of Tune's trial list are adopted (see .trial_failures). Tune only
    # appends to the list, except that recovering a trial moves it to the end
    # (on_trial_recover), so a step looks at the new trials only and its cost does not grow
    # with the campaign. A cursor, not state: a restored copy starts again from the first trial.
    _adopted = 0

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_adopted"}

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        start = self._adopted if self._adopted <= len(trials) else 0
        adopt(trials[start:])  # before this step's errors: see .trial_failures
        self._adopted = len(trials)
        if (listener := _listener.current) is not None:
            listener.step_begin()

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if (listener := _listener.current) is not None:
            listener.step_end(trials)

    def on_trial_add(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        adopt([trial])

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._adopted = 0  # the list is reordered: look at every trial again next step
        if (listener := _listener.current) is not None and preempted_last(trial):
            listener.trial_preempted(trial)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if (listener := _listener.current) is not None:
            listener.trial_started(trial)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if (listener := _listener.current) is not None:
            listener.trial_reported(trial, result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if (listener := _listener.current) is not None:
            listener.trial_completed(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if (listener := _listener.current) is not None:
            listener.trial_errored(trial)
