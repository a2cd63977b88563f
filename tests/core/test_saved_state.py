"""A resumed experiment makes all its trials even when Tune's two saved files are apart.

The files are made by Tune's own generator and trials (no Ray cluster is needed for that), as a
driver killed between writing the trial list and the generator's state leaves them.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from hpo_operator.driver.saved_state import reconcile_generator
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.search import BasicVariantGenerator

TRIALS = 6


def noop(config):  # the trainable is never run here
    pass


def generator(tmp_path: Path, **kwargs) -> BasicVariantGenerator:
    gen = BasicVariantGenerator(max_concurrent=1, random_state=0, **kwargs)
    gen.add_configurations([tune.Experiment("toy", run=noop, config={"x": tune.uniform(0, 1)},
                                            num_samples=TRIALS,
                                            storage_path=str(tmp_path / "store"))])
    return gen


def make(gen: BasicVariantGenerator, done: int) -> list[Trial]:
    """The trials of a run with ``done`` finished trials and the next one running."""
    trials = []
    for _ in range(done + 1):
        trial = gen.next_trial()
        trials.append(trial)
        if len(trials) <= done:
            trial.status = Trial.TERMINATED
            gen.on_trial_complete(trial.trial_id)
        else:
            trial.status = Trial.RUNNING
    return trials


def save(exp_dir: Path, trials: list[Trial] | None = None,
         gen: BasicVariantGenerator | None = None) -> None:
    exp_dir.mkdir(exist_ok=True)
    if trials is not None:
        state = {"trial_data": [t.get_json_state() for t in trials]}
        (exp_dir / "experiment_state-s.json").write_text(json.dumps(state))
    if gen is not None:
        gen.save_to_dir(str(exp_dir), session_str="s")


def resumed_trial_ids(exp_dir: Path, trials: list[Trial]) -> list[str]:
    """The ids of all trials of the restored run, as Tune restores it: the saved trials (the
    unfinished ones run again, then complete) and those the restored generator makes."""
    gen = BasicVariantGenerator()
    gen.restore_from_dir(str(exp_dir))
    ids = [t.trial_id for t in trials]
    unfinished = [t.trial_id for t in trials if t.status != Trial.TERMINATED]
    for _ in range(3 * TRIALS):
        for trial_id in unfinished:
            gen.on_trial_complete(trial_id)
        trial = gen.next_trial()
        if trial is None and gen.is_finished():
            break
        unfinished = [trial.trial_id] if trial is not None else []
        ids.extend(unfinished)
    return ids


def test_a_generator_saved_after_the_trial_list_is_set_back_to_it(tmp_path):
    gen = generator(tmp_path)
    trials = make(gen, done=0)  # trial 0 running
    save(tmp_path / "exp", trials)
    gen.on_trial_complete(trials[0].trial_id)
    assert gen.next_trial() is not None  # trial 0 finished and trial 1 started
    save(tmp_path / "exp", gen=gen)  # the generator's state of that later save
    change = reconcile_generator(tmp_path / "exp")
    assert change is not None and "made 2 trials" in change and "records 1" in change
    ids = resumed_trial_ids(tmp_path / "exp", trials)
    assert len(ids) == len(set(ids)) == TRIALS


def test_a_generator_saved_before_the_trial_list_is_moved_on_to_it(tmp_path):
    gen = generator(tmp_path)
    trials = make(gen, done=1)
    save(tmp_path / "exp", gen=gen)  # the generator as trial 1 runs
    gen.on_trial_complete(trials[-1].trial_id)
    trials[-1].status = Trial.TERMINATED
    trials.append(gen.next_trial())
    trials[-1].status = Trial.RUNNING
    save(tmp_path / "exp", trials)  # the trial list a save later: trial 2 runs
    assert reconcile_generator(tmp_path / "exp") is not None
    ids = resumed_trial_ids(tmp_path / "exp", trials)
    assert len(ids) == len(set(ids)) == TRIALS  # no trial made twice, none left out


def test_presets_after_the_saved_trials_are_still_evaluated(tmp_path):
    points = [{"x": 0.1}, {"x": 0.2}, {"x": 0.3}]
    gen = generator(tmp_path, points_to_evaluate=points)
    trials = make(gen, done=0)
    save(tmp_path / "exp", trials)
    gen.on_trial_complete(trials[0].trial_id)
    assert gen.next_trial().config == {"x": 0.2}  # the generator went on to the second preset
    save(tmp_path / "exp", gen=gen)
    assert reconcile_generator(tmp_path / "exp") is not None
    restored = BasicVariantGenerator()
    restored.restore_from_dir(str(tmp_path / "exp"))
    restored.on_trial_complete(trials[0].trial_id)
    assert restored.next_trial().config == {"x": 0.2}


def test_agreeing_files_are_left_as_they_are(tmp_path):
    gen = generator(tmp_path)
    trials = make(gen, done=2)
    save(tmp_path / "exp", trials, gen)
    before = (tmp_path / "exp" / "basic-variant-state-s.json").read_bytes()
    assert reconcile_generator(tmp_path / "exp") is None
    assert (tmp_path / "exp" / "basic-variant-state-s.json").read_bytes() == before
    ids = resumed_trial_ids(tmp_path / "exp", trials)
    assert len(ids) == len(set(ids)) == TRIALS


@pytest.mark.slow
def test_a_killed_run_whose_generator_was_saved_a_step_later_resumes_all_trials(tmp_path):
    from ray import cloudpickle

    from tests.core.test_cli import assert_resumes_to_the_end, start_slow_campaign
    from tests.support.trainables import SlowCurve

    proc, path, status_file, finished = start_slow_campaign(tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    exp = tmp_path / "runs" / "toy"
    # What the next save would have stored of the generator alone: the running trial done and
    # the next one made (a trial the saved trial list never records).
    tune.register_trainable("SlowCurve", SlowCurve)  # the trials it makes name it
    restored = BasicVariantGenerator()
    restored.restore_from_dir(str(exp))
    for trial_id in list(restored._live_trials):
        restored.on_trial_complete(trial_id)
    assert restored.next_trial() is not None
    state_file = next(exp.glob("basic-variant-state-*.json"))
    state_file.write_bytes(cloudpickle.dumps(restored.get_state()))
    assert_resumes_to_the_end(tmp_path, path, status_file, finished)
