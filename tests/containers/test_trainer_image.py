"""The trainer image on its own: ``hpo run`` of a small CGCNN campaign inside it, as a uid the
image does not know and with no home directory of its own (``--user 12345:0``, what OpenShift
does), with no network at all; the status file and the TensorBoard logs land on a mounted volume.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Lab

pytestmark = [pytest.mark.containers, pytest.mark.slow]
UID = 12345
SMALL = {"atom_embedding_size": 8, "num_graph_conv_layers": 1, "fc_feat_size": 16,
         "num_fc_layers": 1, "batch_size": 32}


def campaign(name: str, trials: int, iterations: int) -> dict[str, Any]:
    return {"apiVersion": "hpo.dev/v1alpha1", "kind": "HPOCampaign", "metadata": {"name": name},
            "spec": {
                "objective": {"metric": "val_mae", "mode": "min"},
                "searchSpace": {"lr": {"type": "float", "min": 1e-3, "max": 3e-2, "log": True}},
                "strategy": {"scheduler": {"type": "fifo"},
                             "searcher": {"type": "random", "seed": 0}},
                "budget": {"trials": trials, "maxConcurrentTrials": 2,
                           "maxIterationsPerTrial": iterations},
                "trainable": {"entrypoint": "hpo_trainer.cgcnn:CGCNNTrainable",
                              "config": {"dataset": "emt-adsorption-tiny", "seed": 0, **SMALL}},
                "resources": {"perTrial": {"cpu": 1}}}}


def run_in_trainer(lab: Lab, volume: Path, doc: dict[str, Any], *options: str) -> tuple[int, str]:
    volume.chmod(0o777)  # the uid is the container's, not this machine's
    (volume / "campaign.yaml").write_text(yaml.safe_dump(doc))
    name = doc["metadata"]["name"]
    return lab.podman.run_to_end(
        f"trainer-{name}-{volume.name}", "--network", "none", "--user", f"{UID}:0",
        "-v", f"{volume}:/data", "-w", "/data", *options, lab.images.trainer,
        "hpo", "run", "/data/campaign.yaml", "--storage", "/data/runs",
        "--status-file", f"/data/{name}.status.json", timeout=600)


def test_hpo_run_succeeds_as_an_arbitrary_uid_without_a_home(lab: Lab, tmp_path: Path) -> None:
    code, output = run_in_trainer(lab, tmp_path, campaign("tiny", trials=3, iterations=2))
    assert code == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    status = json.loads((tmp_path / "tiny.status.json").read_text())
    assert status["phase"] == "Succeeded", status
    assert status["trials"]["completed"] == 3, status["trials"]
    assert status["bestTrial"]["metric"] > 0
    trials = [p for p in (tmp_path / "runs/tiny").iterdir() if p.is_dir()]
    assert len(trials) == 3, sorted(p.name for p in trials)
    for trial in trials:
        assert list(trial.glob("events.out.tfevents.*")), f"no TensorBoard log in {trial}"
        assert trial.stat().st_uid == UID
    assert (tmp_path / "tiny.status.json").stat().st_uid == UID


def test_hpo_run_moves_a_home_it_cannot_write(lab: Lab, tmp_path: Path) -> None:
    # HOME=/ is what an image without a home for every uid gives such a user.
    code, output = run_in_trainer(lab, tmp_path, campaign("homeless", trials=1, iterations=1),
                                  "--env=HOME=/")
    assert code == 0, output[-4000:]
    assert "Traceback" not in output and "PermissionError" not in output, output[-4000:]
    assert f"HOME / is not writable; using /tmp/hpo-home-{UID}" in output, output[-4000:]
    assert json.loads((tmp_path / "homeless.status.json").read_text())["phase"] == "Succeeded"


def test_build_only_settings_never_reach_the_images(lab: Lab) -> None:
    podman = lab.podman
    code, output = podman.run_to_end(
        f"trainer-inspect-{lab.podman.logs.name}", "--network", "none", "--user", f"{UID}:0",
        lab.images.trainer, "sh", "-c",
        "ls -A /mnt; ls /etc/pip.conf /etc/xdg/pip 2>&1; pip config list; echo HOME=$HOME; "
        "python -c 'import torch, ray; print(torch.__version__, ray.__version__)'", timeout=120)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("ls: cannot access '/etc/pip.conf'"), output  # /mnt was empty
    assert "HOME=/home/hpo" in lines, output
    assert lines[-1].split()[0].endswith("+cpu") and lines[-1].split()[1] == "2.60.0", output
    labels = podman.inspect(lab.images.trainer)["Config"]["Labels"]
    assert labels["dev.hpo.torch"] == "cpu", labels
    code, output = podman.run_to_end(
        f"operator-inspect-{lab.podman.logs.name}", "--network", "none", "--entrypoint",
        "python", lab.images.operator, "-c",
        "import importlib.util as u; print([m for m in ('ray', 'torch', 'kopf') if u.find_spec(m)])",
        timeout=120)
    assert code == 0 and output.strip().splitlines()[-1] == "['kopf']", output
