"""Which trial errors are preemptions (the node went away) and which are the trial's failures:
Ray's own exception classes, built as Ray builds them for each case."""

from __future__ import annotations

import pickle

import pytest
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    NodeDiedError,
    OutOfMemoryError,
    RayActorError,
    RayTaskError,
    WorkerCrashedError,
)

from hpo_operator.campaign.preemption import MAX_PREEMPTIONS_PER_TRIAL, forgiven, is_preemption

# What Ray's GCS writes for an actor whose node died (Ray 2.60), as ActorDiedError shows it.
NODE_DIED = ("The actor died unexpectedly before finishing this task.\n\tclass_name: "
             "ImplicitFunc\n\tactor_id: 0a1b\n\tpid: 4242\n\tip: 127.0.0.1\n"
             "The actor died because its node has died. Node Id: 5c6d\n"
             "\tthe actor's node was killed: UNEXPECTED_TERMINATION")
WORKER_DIED = ("The actor died unexpectedly before finishing this task.\n\tclass_name: "
               "ImplicitFunc\nThe actor is dead because its worker process has died. "
               "Worker exit type: SYSTEM_ERROR")


def _user_error(exc: BaseException) -> RayTaskError:
    return RayTaskError("train", "Traceback (most recent call last): ...", exc)


@pytest.mark.parametrize("error", [
    RayActorError(error_msg=NODE_DIED),
    RayActorError(preempted=True),  # a node drained for preemption (Ray's own flag)
    NodeDiedError("node 5c6d is dead"),
    ActorUnavailableError("Task failed because the node it was running on is dead or "
                          "unavailable. Node IP: 127.0.0.1", None),
    # What the driver saw first of a killed node, before the head declared it dead.
    ActorUnavailableError("The actor is temporarily unavailable: RpcError: RPC error: Socket "
                          "closed rpc_code: 14", None),
], ids=["node-died", "drained", "node-died-error", "node-unavailable", "unreachable"])
def test_a_lost_node_is_a_preemption(error):
    assert is_preemption(error)


@pytest.mark.parametrize("error", [
    None,
    ValueError("x=0.9 is too large"),
    _user_error(ValueError("x=0.9 is too large")),
    # A user's error that quotes Ray's words is still the user's.
    _user_error(RuntimeError("The actor died because its node has died")),
    RayActorError(error_msg=WORKER_DIED),  # the trial's own process crashed (segfault, exit)
    ActorDiedError(),
    WorkerCrashedError(),
    OutOfMemoryError("Task was killed due to the node running low on memory."),
], ids=["none", "plain", "user", "user-quoting-ray", "worker-died", "actor-died", "crashed",
        "oom"])
def test_a_trial_failure_is_not_a_preemption(error):
    assert not is_preemption(error)


def test_a_task_error_wrapping_a_lost_actor_is_a_preemption():
    wrapped = RayTaskError("train", "tb", RayActorError(error_msg=NODE_DIED))
    assert is_preemption(wrapped)


def test_preemptions_are_forgiven_up_to_a_bound():
    assert forgiven(0) and forgiven(MAX_PREEMPTIONS_PER_TRIAL - 1)
    assert not forgiven(MAX_PREEMPTIONS_PER_TRIAL)


def test_a_campaign_trial_does_not_count_preemptions_against_its_retries(local_ray, tmp_path):
    """Tune's own Trial, adopted as the driver adopts it: its failure count (which Tune compares
    with max_failures, runtime.maxTrialRetries) grows with failures only, up to the bound."""
    from ray.train._internal.storage import StorageContext
    from ray.tune.experiment import Trial

    from hpo_operator.driver.trial_failures import CampaignTrial, adopt, preempted_last, preemptions

    storage = StorageContext(storage_path=str(tmp_path), experiment_dir_name="exp")
    trial = Trial("__fake", stub=True, storage=storage)
    trial.storage.trial_dir_name = "trial"
    trial.init_local_path()
    adopt([trial])
    assert type(trial) is CampaignTrial
    trial.handle_error(RayActorError(error_msg=NODE_DIED))
    assert trial.run_metadata.num_failures == 0 and preempted_last(trial)
    trial.handle_error(_user_error(ValueError("x=0.9 is too large")))
    assert trial.run_metadata.num_failures == 1 and not preempted_last(trial)
    for _ in range(MAX_PREEMPTIONS_PER_TRIAL):  # 1 + 9 forgiven, then one counted
        trial.handle_error(RayActorError(error_msg=NODE_DIED))
    assert preemptions(trial) == MAX_PREEMPTIONS_PER_TRIAL
    assert trial.run_metadata.num_failures == 2 and not preempted_last(trial)  # past the bound


def test_each_step_adopts_only_the_trials_added_since_and_all_after_a_recovery(tmp_path):
    """Tune hands every step its whole trial list: looking at the new trials only keeps a step's
    cost flat at 10,000 trials. Recovering a trial moves it to the end of the list, so the next
    step looks at all of them again and a trial added meanwhile is not missed."""
    from ray.train._internal.storage import StorageContext
    from ray.tune.experiment import Trial

    from hpo_operator.driver.trial_failures import CampaignTrial
    from hpo_operator.driver.tune_callback import CampaignCallback

    storage = StorageContext(storage_path=str(tmp_path), experiment_dir_name="exp")

    def trial() -> Trial:
        return Trial("__fake", stub=True, storage=storage)

    callback = CampaignCallback()
    trials = [trial(), trial()]
    callback.on_step_begin(0, trials)
    assert all(type(t) is CampaignTrial for t in trials)
    looked_at = trials[0]
    looked_at.__class__ = Trial  # had the next step read the whole list, it would adopt it again
    trials.append(trial())
    callback.on_step_begin(1, trials)
    assert type(trials[2]) is CampaignTrial and type(looked_at) is Trial
    trials.append(trial())  # added, then a recovery moves an earlier trial behind it
    trials.append(trials.pop(1))
    callback.on_trial_recover(2, trials, trials[-1])
    callback.on_step_begin(2, trials)
    assert all(type(t) is CampaignTrial for t in trials)
    restored = pickle.loads(pickle.dumps(callback))  # as Tune restores it with the experiment
    fresh = [trial() for _ in range(len(trials) + 2)]  # a restored run's list, from the start
    restored.on_step_begin(0, fresh)
    assert all(type(t) is CampaignTrial for t in fresh)
