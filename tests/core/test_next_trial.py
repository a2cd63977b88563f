"""The next trial is the one Ray Tune's FIFO choice picks, without rescanning ended trials."""

from __future__ import annotations

import random

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler

from hpo_operator.campaign.next_trial import ConstantTimeFIFO
from hpo_operator.campaign.stop_recording import StopRecordingASHA, StopRecordingMedian

UNFINISHED = [Trial.PENDING, Trial.RUNNING, Trial.PAUSED, Trial.ERROR]


class FakeTrial:
    """A trial as the choice sees it: a status, whose reads are counted."""

    reads = 0

    def __init__(self, name: str) -> None:
        self.name, self._status = name, Trial.PENDING

    @property
    def status(self) -> str:
        FakeTrial.reads += 1
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value


class Controller:
    def __init__(self) -> None:
        self.trials: list[FakeTrial] = []

    def get_trials(self) -> list[FakeTrial]:
        return self.trials


def step(rng: random.Random, controller: Controller, made: int) -> int:
    """One change Tune makes to its trial list: add a trial, change an unfinished trial's
    state, or retry an errored one (moved to the end, as Tune does)."""
    trials = controller.trials
    unfinished = [t for t in trials if t._status != Trial.TERMINATED]
    action = rng.random()
    if action < 0.25 or not unfinished:
        trials.append(FakeTrial(f"t{made}"))
        return made + 1
    trial = rng.choice(unfinished)
    if trial._status == Trial.ERROR and action < 0.5:
        trials.pop(trials.index(trial))
        trials.append(trial)
        trial.status = Trial.PENDING
    else:
        trial.status = rng.choice(UNFINISHED + [Trial.TERMINATED] * 3)
    return made


def test_the_same_trial_as_tunes_fifo_choice_through_random_histories():
    for scheduler in (ConstantTimeFIFO(), StopRecordingASHA(max_t=9),
                      StopRecordingMedian()):
        rng, controller, made, tune = random.Random(7), Controller(), 0, FIFOScheduler()
        for _ in range(3000):
            made = step(rng, controller, made)
            assert scheduler.choose_trial_to_run(controller) is tune.choose_trial_to_run(
                controller)
        assert made > 500


def test_a_new_trial_list_is_scanned_from_the_front():
    scheduler, first, second = ConstantTimeFIFO(), Controller(), Controller()
    first.trials = [FakeTrial("a"), FakeTrial("b")]
    first.trials[0].status = Trial.TERMINATED
    assert scheduler.choose_trial_to_run(first).name == "b"
    second.trials = [FakeTrial("c"), FakeTrial("d")]  # e.g. a resumed run: errored ones retried
    second.trials[1].status = Trial.TERMINATED
    assert scheduler.choose_trial_to_run(second).name == "c"


def test_ended_trials_are_not_read_again():
    scheduler, controller = ConstantTimeFIFO(), Controller()
    controller.trials = [FakeTrial(f"t{i}") for i in range(10_000)]
    for trial in controller.trials[:-2]:
        trial.status = Trial.TERMINATED
    controller.trials[-1].status = Trial.PAUSED
    assert scheduler.choose_trial_to_run(controller).name == "t9998"
    controller.trials[-2].status = Trial.RUNNING
    FakeTrial.reads = 0
    for _ in range(100):
        assert scheduler.choose_trial_to_run(controller).name == "t9999"
    assert FakeTrial.reads <= 100 * 6  # the last ended trial, then the two unfinished, twice
