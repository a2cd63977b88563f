"""The control plane at scale: `hpo run` against plain Ray Tune at 10,000 trials, side by side.

The same campaign as the overhead benchmark (the `workloads:Trivial` trainable, ASHA with maxT 9,
2 concurrent trials), run alternately through `hpo run` and through `plain_tune.py`, in pairs.
Reported: each pair's wall-time ratio and their median (the figure to quote: a ratio within one
pair sees the machine in one state on both sides), their geometric mean with a 95 % bootstrap
interval over pairs, the extra cost per trial, the peak resident memory of the driver process and
of its whole process tree (Ray's daemons and workers included), the status file's size and the
experiment directory's.
`hpo run` runs with everything a campaign promises on: progress lines, the status file, its
Prometheus endpoint (scraped every 15 s, as Prometheus would) and TensorBoard's HParams. The
concurrent trials' actors start together on both sides (see workloads.start_together).

    python benchmarks/scale.py                   # 10,000 trials, 2 pairs (about 20 min on 2 cores)
    python benchmarks/scale.py --trials 2000     # a shorter look
    python benchmarks/scale.py --trials 2000 --knobs token,callback   # where the difference goes

``--knobs`` compares plain Ray Tune with plain Ray Tune plus one of the things `hpo run` does
differently (see ``plain_tune.py``), one knob at a time, in pairs as above.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml

from hpo_cli import HERE, bench_env
from overhead import campaign
from tts_summary import bootstrap_interval

SAMPLE_S = 0.5
SCRAPE_S = 15.0  # Prometheus' usual scrape interval


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measured(cmd: list[str], cwd: Path, actors: int, scrape: str | None = None) -> dict[str, Any]:
    """Wall seconds and peak RSS (MB) of ``cmd``'s own process and of its process tree; with
    ``scrape``, how many of the scrapes of that metrics URL (one a sample) answered."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=bench_env(cwd, actors),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak_driver = peak_tree = 0.0
    scrapes, last_scrape = {"tried": 0, "answered": 0}, time.perf_counter()
    while proc.poll() is None:
        if scrape and time.perf_counter() - last_scrape >= SCRAPE_S:
            last_scrape = time.perf_counter()
            scrapes["tried"] += 1
            scrapes["answered"] += scraped(scrape)
        try:
            tree = [root, *root.children(recursive=True)]
            rss = [p.memory_info().rss for p in tree if p.is_running()]
        except psutil.Error:  # a process ended between listing and reading it
            continue
        peak_driver = max(peak_driver, rss[0] / 2**20)
        peak_tree = max(peak_tree, sum(rss) / 2**20)
        time.sleep(SAMPLE_S)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.read()[-3000:]}")
    return {"wall_s": round(wall, 2), "driver_peak_mb": round(peak_driver, 1),
            "tree_peak_mb": round(peak_tree, 1), **({"metrics_scrapes": scrapes} if scrape else {})}


def scraped(url: str) -> bool:
    """Whether the driver's metrics endpoint answered with the campaign's metrics."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return b"hpo_driver_trial_results" in response.read()
    except OSError:  # not listening yet (Ray is starting), or already closed
        return False


def dir_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def one_pair(i: int, trials: int, max_t: int, concurrency: int, work: Path) -> dict:
    doc = campaign(f"scale-{i}", trials, max_t, concurrency, "workloads:Trivial")
    manifest = work / f"scale-{i}.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    status_file = work / f"scale-{i}.status.json"
    # Everything a campaign promises on: progress lines, the status file, Prometheus metrics
    # (scraped below), TensorBoard's HParams (Tune's default loggers, as on the plain side).
    metrics_port = free_port()
    cmd = [sys.executable, "-m", "hpo_operator", "run", str(manifest), "--storage",
           str(work / "runs"), "--status-file", str(status_file), "--metrics-port",
           str(metrics_port)]
    ours = measured(cmd, work, concurrency, scrape=f"http://127.0.0.1:{metrics_port}/metrics")
    status = json.loads(status_file.read_text())
    if status["phase"] != "Succeeded" or status["trials"]["total"] != trials:
        raise SystemExit(f"hpo run did not finish its {trials} trials: {status.get('message')}")
    ours.update(status_kb=round(status_file.stat().st_size / 1024, 1),
                experiment_mb=dir_mb(work / "runs" / f"scale-{i}"))
    plain = measured([sys.executable, str(HERE / "plain_tune.py"), str(trials), str(max_t),
                      str(concurrency), str(work / f"plain-{i}")], work, concurrency)
    plain.update(experiment_mb=dir_mb(work / f"plain-{i}"))
    return {"hpo_run": ours, "plain_tune": plain,
            "ratio": round(ours["wall_s"] / plain["wall_s"], 4),
            "extra_ms_per_trial": round((ours["wall_s"] - plain["wall_s"]) / trials * 1000, 2)}


def knob_pair(knob: str, i: int, trials: int, max_t: int, concurrency: int, work: Path) -> dict:
    """Plain Ray Tune without and with one of `hpo run`'s differences."""
    base = [sys.executable, str(HERE / "plain_tune.py"), str(trials), str(max_t), str(concurrency)]
    plain = measured([*base, str(work / f"plain-{knob}-{i}")], work, concurrency)
    with_knob = measured([*base, str(work / f"knob-{knob}-{i}"), knob], work, concurrency)
    return {"knob": knob, "plain_s": plain["wall_s"], "with_knob_s": with_knob["wall_s"],
            "ratio": round(with_knob["wall_s"] / plain["wall_s"], 4),
            "extra_ms_per_trial": round((with_knob["wall_s"] - plain["wall_s"]) / trials * 1000,
                                        2)}


def compare_knobs(knobs: list[str], trials: int, pairs: int, work: Path) -> None:
    for knob in knobs:
        runs = [knob_pair(knob, i, trials, 9, 2, work) for i in range(pairs)]
        for run in runs:
            print(json.dumps(run), flush=True)
        print(f"{knob}: median ratio {statistics.median(r['ratio'] for r in runs):.3f}, "
              f"{statistics.median(r['extra_ms_per_trial'] for r in runs):+.2f} ms per trial",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "scale.json")
    parser.add_argument("--knobs", type=lambda s: s.split(","), default=None,
                        help="compare plain Ray Tune with each of these knobs of plain_tune.py")
    args = parser.parse_args()
    if args.knobs:
        with tempfile.TemporaryDirectory(prefix="hpo-knobs-") as tmp:
            compare_knobs(args.knobs, args.trials, args.pairs, Path(tmp))
        return
    max_t, concurrency = 9, 2
    pairs = []
    with tempfile.TemporaryDirectory(prefix="hpo-scale-") as tmp:
        for i in range(args.pairs):
            pairs.append(one_pair(i, args.trials, max_t, concurrency, Path(tmp)))
            print(json.dumps(pairs[-1]), flush=True)
    ratios = [p["ratio"] for p in pairs]
    # Pairs resampled whole (a fixed RNG seed: the same pairs always give the same interval).
    interval = bootstrap_interval(ratios)
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
               "trials": args.trials, "max_t": max_t, "concurrency": concurrency,
               "pairs": pairs, "median_pairwise_ratio": statistics.median(ratios),
               "geometric_mean_ratio": round(statistics.geometric_mean(ratios), 4),
               "geometric_mean_interval_95": interval and [round(x, 4) for x in interval],
               "median_extra_ms_per_trial": statistics.median(p["extra_ms_per_trial"]
                                                              for p in pairs)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.trials} trials, {args.pairs} pairs: hpo run / plain Ray Tune, median of pairwise "
          f"ratios {results['median_pairwise_ratio']:.3f} ({', '.join(map(str, ratios))}); "
          f"geometric mean {results['geometric_mean_ratio']:.3f}, 95 % bootstrap interval "
          f"{results['geometric_mean_interval_95']}; "
          f"{results['median_extra_ms_per_trial']:+.2f} ms per trial; written to {args.output}")


if __name__ == "__main__":
    main()
