"""How often Ray Tune withdraws an actor it asked for: the mode that makes cheap trials slow.

With trials shorter than an actor's start (the `workloads:Trivial` trials take milliseconds, a new
actor a second or two), Tune can fall into a state where every new trial first asks for a new
actor, then takes a cached one as soon as another trial ends and withdraws the request: one actor
does the work of two. Runs in that state take 1.5-1.8x as long. Whether a run falls into it is
decided at its start, by whether the first actor ends a trial before the second has started: by
chance, on either side of a comparison (see workloads.start_together). This script runs the
overhead campaign through `hpo run` and through plain Ray Tune, each in a fresh process that counts
Tune's actor removals, with the actors left to start apart (as Tune starts them) and started
together (as the other benchmarks start them), and prints wall time and removals per run: a run
with about one removal per trial is in the slow mode.

    python benchmarks/actor_churn.py --trials 2000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
import tempfile
from pathlib import Path

import yaml

from hpo_cli import HERE, timed
from overhead import campaign


def counted(counts_file: str, argv: list[str]) -> None:
    """Run ``argv`` (``hpo ...`` or a script) in this process, counting Tune's actor removals."""
    import atexit

    from ray.tune.execution.tune_controller import TuneController

    removals = [0]
    remove = TuneController._remove_actor

    def counting_remove(self: TuneController, *args: object, **kwargs: object) -> None:
        removals[0] += 1
        remove(self, *args, **kwargs)

    TuneController._remove_actor = counting_remove  # type: ignore[method-assign]
    atexit.register(lambda: Path(counts_file).write_text(json.dumps({"removals": removals[0]})))
    sys.argv = argv
    if argv[0] == "hpo":
        runpy.run_module("hpo_operator", run_name="__main__")
    else:
        runpy.run_path(argv[0], run_name="__main__")


def one_run(argv: list[str], work: Path, actors: int) -> dict[str, float]:
    counts = work / "counts.json"
    seconds = timed([sys.executable, __file__, "--counted", str(counts), "--", *argv], work,
                    actors)
    return {"wall_s": round(seconds, 1),
            "actor_removals": json.loads(counts.read_text())["removals"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--counted", help=argparse.SUPPRESS)
    parser.add_argument("argv", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.counted:
        return counted(args.counted, args.argv)
    # Ray is imported before `hpo run` here, so it cannot choose the embedded cluster's token
    # authentication itself: both sides get it from the environment.
    os.environ["RAY_AUTH_MODE"] = "token"
    with tempfile.TemporaryDirectory(prefix="hpo-churn-") as tmp:
        work = Path(tmp)
        manifest = work / "churn.yaml"
        manifest.write_text(yaml.safe_dump(campaign("churn", args.trials, 9, 2,
                                                    "workloads:Trivial")))
        for i in range(args.runs):
            for start, actors in (("apart", 0), ("together", 2)):
                ours = one_run(["hpo", "run", str(manifest), "--quiet", "--storage",
                                str(work / f"runs-{start}-{i}")], work, actors)
                plain = one_run([str(HERE / "plain_tune.py"), str(args.trials), "9", "2",
                                 str(work / f"plain-{start}-{i}")], work, actors)
                print(json.dumps({"run": i, "trials": args.trials, "actors_start": start,
                                  "hpo_run": ours, "plain_tune": plain}), flush=True)


if __name__ == "__main__":
    main()
