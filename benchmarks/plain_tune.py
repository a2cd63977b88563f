"""The same campaign written directly against Ray Tune: the baseline `hpo run` is compared with.

Usage: python plain_tune.py TRIALS MAX_T CONCURRENCY STORAGE
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


def main() -> None:
    trials, max_t, concurrency, storage = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                           sys.argv[4])
    import ray
    from ray import tune
    from ray.tune.schedulers import AsyncHyperBandScheduler
    from workloads import Trivial

    start = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(
        tune.with_resources(Trivial, {"cpu": 1}),
        param_space={"x": tune.uniform(0, 1)},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=trials, max_concurrent_trials=concurrency,
            reuse_actors=True,
            scheduler=AsyncHyperBandScheduler(max_t=max_t, grace_period=1, reduction_factor=3)),
        run_config=tune.RunConfig(
            name="plain", storage_path=storage, stop={"training_iteration": max_t}, verbose=0,
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0,
                                                    checkpoint_at_end=False)),
    )
    results = tuner.fit()
    assert len(results) == trials and not results.errors
    print(f"wall_seconds={time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
