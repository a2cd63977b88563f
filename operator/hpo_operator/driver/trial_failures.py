"""Trial failures as the campaign counts them: a preempted trial is retried for free.

Tune decides whether to retry a failed trial in ``TuneController._process_trial_failure``: it sets
the experiment's fail-fast flag, lets ``Trial.handle_error`` count the failure (not when Ray marks
the actor ``preempted``, a drained node; a node that just dies counts), then retries the trial from
its last checkpoint while ``Trial.should_recover`` allows. Two seams make that the campaign's:

- every trial is a :class:`CampaignTrial`, whose ``handle_error`` takes back the count of an error
  that :func:`..campaign.preemption.is_preemption` calls a preemption, so that Tune's own
  ``max_failures`` (``runtime.maxTrialRetries``) counts real failures only;
- Tune's ``fail_fast`` is off (it would trip on a preemption too), and :class:`FailFast` stops the
  experiment instead once a trial has errored for good, which is ``runtime.failFast``.

Trials are saved with the experiment as JSON, not pickled: a restored one is a plain ``Trial``
again until :func:`adopt` makes it a :class:`CampaignTrial`; its preemption count is kept.
Imports Ray: the driver imports this module only once a run starts.
"""

from __future__ import annotations

from typing import Any

from ray.tune.experiment import Trial
from ray.tune.stopper import CombinedStopper, Stopper

from ..campaign.preemption import forgiven, is_preemption

# Trial attributes (saved with the trial's JSON state, so a resumed trial keeps them).
PREEMPTIONS = "hpo_preemptions"
LAST_ERROR_PREEMPTED = "hpo_last_error_preempted"


class CampaignTrial(Trial):
    """Ray Tune's Trial, except that an error meaning that its node went away is no failure."""

    def handle_error(self, exc: Any = None) -> None:
        before = self.run_metadata.num_failures
        super().handle_error(exc)
        preemptions = getattr(self, PREEMPTIONS, 0)
        preempted = is_preemption(exc) and forgiven(preemptions)
        setattr(self, LAST_ERROR_PREEMPTED, preempted)
        if preempted:
            setattr(self, PREEMPTIONS, preemptions + 1)
            self.run_metadata.num_failures = before
            self.run_metadata.invalidate_cache()


def adopt(trials: list[Any]) -> None:
    """Make every trial a :class:`CampaignTrial` (new trials, and those of a restored run)."""
    for trial in trials:
        if type(trial) is Trial:
            trial.__class__ = CampaignTrial


def preempted_last(trial: Any) -> bool:
    """Whether the trial's latest error was a preemption (forgiven: it is being retried)."""
    return bool(getattr(trial, LAST_ERROR_PREEMPTED, False))


def preemptions(trial: Any) -> int:
    return int(getattr(trial, PREEMPTIONS, 0) or 0)


class FailFast(Stopper):
    """Stops the experiment once a trial has errored for good (its retries used up). Holds no
    state (it is pickled with the experiment): it asks the campaign running in this process."""

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        from .tune_callback import current_listener

        listener = current_listener()
        return listener is not None and listener.trial_failed_for_good()


def with_fail_fast(stop: Any) -> Stopper:
    """``stop`` (RunConfig's: None, the iteration cap as a dict, or a Stopper) and FailFast."""
    if stop is None:
        return FailFast()
    if isinstance(stop, dict):
        from ..campaign.stoppers import ResultLimits

        stop = ResultLimits(stop)
    return CombinedStopper(FailFast(), stop)
