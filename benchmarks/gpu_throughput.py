"""Training throughput of the CGCNN trainer against a plain torch-geometric loop, same data.

The plain loop is the one a tutorial writes: a torch-geometric ``DataLoader`` over the graphs
in host memory, ``batch.to(device)`` and ``loss.item()`` every batch. The trainer's is
``hpo_trainer.loops.train_epoch`` over the session's device-resident loader. Both train the same
CGCNN (same sizes, seed, batch size) on the same training split for ``--seconds`` each, after a
warm-up epoch, with nvidia-smi sampling the GPU's utilisation in the background. Writes
``throughput.json`` (and the samples, ``util-plain.csv``, ``util-trainer.csv``) under ``--out``.

    python benchmarks/gpu_throughput.py --out gpu-results            # on a GPU: checks the targets
    python benchmarks/gpu_throughput.py --out /tmp/x --cpu-smoke     # tiny, CPU, no checks
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from gpu_util import Utilisation
from torch_geometric.loader import DataLoader

from hpo_trainer.loops import train_epoch
from hpo_trainer.model import CGCNN
from hpo_trainer.session import TrainingSession

SPEEDUP_TARGET = 3.0  # the trainer's graphs/s over the plain loop's
UTILISATION_TARGET = 80.0  # % of the time the GPU is busy while the trainer trains


def plain_epoch(model: CGCNN, loader: DataLoader, optimiser: torch.optim.Optimizer,
                device: torch.device) -> int:
    """One epoch the usual way; returns the graphs trained on."""
    model.train()
    total, graphs = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        optimiser.zero_grad()
        pred = model(batch.z, batch.edge_index, batch.edge_attr, batch.batch, batch.adsorbate)
        loss = F.mse_loss(pred / model.target_std, batch.y / model.target_std)
        loss.backward()
        optimiser.step()
        total += loss.item() * batch.num_graphs
        graphs += batch.num_graphs
    return graphs


def timed(epoch, seconds: float, device: torch.device) -> tuple[float, int, int]:
    """Runs ``epoch()`` (which returns graphs trained) until ``seconds`` have passed, after one
    warm-up epoch: (graphs per second, graphs, epochs)."""
    epoch()
    _sync(device)
    start, graphs, epochs = time.perf_counter(), 0, 0
    while time.perf_counter() - start < seconds or epochs == 0:
        graphs += epoch()
        epochs += 1
    _sync(device)
    return graphs / (time.perf_counter() - start), graphs, epochs


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(config: dict, seconds: float, out: Path) -> dict:
    session = TrainingSession(config)
    c, device = session.config, session.device
    n = len(session.train_graphs)
    torch.manual_seed(c.seed)
    model = CGCNN(c.atom_embedding_size, c.num_graph_conv_layers, c.fc_feat_size,
                  c.num_fc_layers, edge_dim=c.num_gaussians, target_mean=session.target_mean,
                  target_std=session.target_std).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=c.lr)
    loader = DataLoader(session.train_graphs, batch_size=c.batch_size, shuffle=True)
    phases = {
        "plain": lambda: plain_epoch(model, loader, optimiser, device),
        "trainer": lambda: (train_epoch(session.model, session.train_loader, session.optimiser,
                                        device), n)[1],
    }
    result: dict = {"device": str(device), "train_graphs": n, "batch_size": c.batch_size,
                    "seconds_per_side": seconds, "config": {k: getattr(c, k) for k in (
                        "dataset", "atom_embedding_size", "num_graph_conv_layers",
                        "fc_feat_size", "num_fc_layers", "lr")}}
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    for name, epoch in phases.items():
        with Utilisation(out / f"util-{name}.csv") as util:
            rate, graphs, epochs = timed(epoch, seconds, device)
        result[name] = {"graphs_per_s": rate, "graphs": graphs, "epochs": epochs,
                        "gpu_utilisation_pct": util.mean()}
    result["speedup"] = result["trainer"]["graphs_per_s"] / result["plain"]["graphs_per_s"]
    return result


def verdict(result: dict, check: bool) -> dict:
    """Whether the targets were met; not judged (None) in the CPU smoke mode."""
    util = result["trainer"]["gpu_utilisation_pct"]
    met = None
    if check:
        met = result["speedup"] >= SPEEDUP_TARGET and util is not None and util >= UTILISATION_TARGET
    return {"speedup_target": SPEEDUP_TARGET, "utilisation_target_pct": UTILISATION_TARGET,
            "checked": check, "met": met}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dataset", default="emt-adsorption")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="timed training per side")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="tiny data and model on the CPU, targets not checked")
    args = parser.parse_args(argv)
    config = {"dataset": args.dataset, "batch_size": args.batch_size, "seed": 0}
    if args.cpu_smoke:
        config.update(dataset="emt-adsorption-tiny", device="cpu", atom_embedding_size=8,
                      num_graph_conv_layers=1, fc_feat_size=16, num_fc_layers=1)
    elif not torch.cuda.is_available():
        print("gpu_throughput: no CUDA device (use --cpu-smoke on a CPU)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    result = measure(config, 1.0 if args.cpu_smoke else args.seconds, args.out)
    result["verdict"] = verdict(result, check=not args.cpu_smoke)
    (args.out / "throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    for name in ("plain", "trainer"):
        side = result[name]
        util = side["gpu_utilisation_pct"]
        print(f"{name:<8} {side['graphs_per_s']:>10.0f} graphs/s  GPU busy "
              f"{'-' if util is None else f'{util:.0f} %'}  ({side['epochs']} epochs)")
    v = result["verdict"]
    print(f"speedup {result['speedup']:.2f}x (target {SPEEDUP_TARGET:g}x at >= "
          f"{UTILISATION_TARGET:g} % busy): {'not checked' if v['met'] is None else v['met']}")
    return 0 if v["met"] in (None, True) else 1


if __name__ == "__main__":
    sys.exit(main())
