"""The same campaign written directly against Ray Tune: the baseline `hpo run` is compared with.

Usage: python plain_tune.py TRIALS MAX_T CONCURRENCY STORAGE [KNOB,...]

Each optional KNOB adds one thing `hpo run` does differently, so that `scale.py --knobs` can tell
which of them costs time: ``token`` (Ray's token authentication, the embedded cluster's default),
``gpu0`` (resources asked as ``{"cpu": 1, "gpu": 0}``), ``failure`` (``FailureConfig`` with
``fail_fast``), ``keep1`` (a checkpoint config keeping one), ``callback`` (a callback that sees
every event, as the campaign's does).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


KNOBS = {"token", "gpu0", "failure", "keep1", "callback"}


def main() -> None:
    trials, max_t, concurrency, storage = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                           sys.argv[4])
    knobs = set(sys.argv[5].split(",")) if len(sys.argv) > 5 else set()
    if unknown := knobs - KNOBS:
        raise SystemExit(f"unknown knobs {sorted(unknown)}; known: {sorted(KNOBS)}")
    if "token" in knobs:
        os.environ["RAY_AUTH_MODE"] = "token"
    import ray
    from ray import tune
    from ray.tune.schedulers import AsyncHyperBandScheduler
    from workloads import Trivial

    start = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)
    class EveryEvent(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            self.last = (trial.trial_id, result.get("loss"))

    resources = {"cpu": 1, "gpu": 0} if "gpu0" in knobs else {"cpu": 1}
    tuner = tune.Tuner(
        tune.with_resources(Trivial, resources),
        param_space={"x": tune.uniform(0, 1)},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=trials, max_concurrent_trials=concurrency,
            reuse_actors=True,
            scheduler=AsyncHyperBandScheduler(max_t=max_t, grace_period=1, reduction_factor=3)),
        run_config=tune.RunConfig(
            name="plain", storage_path=storage, stop={"training_iteration": max_t}, verbose=0,
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=0, checkpoint_at_end=False,
                num_to_keep=1 if "keep1" in knobs else None),
            failure_config=tune.FailureConfig(max_failures=0, fail_fast="failure" in knobs),
            callbacks=[EveryEvent()] if "callback" in knobs else None),
    )
    results = tuner.fit()
    assert len(results) == trials and not results.errors
    print(f"wall_seconds={time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
