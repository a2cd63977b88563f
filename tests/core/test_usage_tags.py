"""Ray's callback usage tag, counted as Ray counts it, without importing the trackers' packages.

Each test runs in a fresh interpreter: whether ``mlflow`` or ``wandb`` got imported is a fact of
a whole process, which other tests of this session (the tracking ones) would have settled.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

COUNTS = """
import json, sys
from ray.tune import Callback
from ray.tune.logger import CSVLoggerCallback, LoggerCallback
from hpo_operator.driver.tune_callback import CampaignCallback
from hpo_operator.driver.usage_tags import count_callbacks

class Custom(LoggerCallback):
    pass

plain = [CampaignCallback(), CSVLoggerCallback(), Custom(), Custom(), object(), Callback()]
ours_plain = count_callbacks(plain)
imported = sorted(m for m in ("mlflow", "wandb", "ray.air.integrations.mlflow",
                              "ray.air.integrations.wandb") if m in sys.modules)
from ray.air._internal.usage import _count_callbacks as rays
from ray.air.integrations.mlflow import MLflowLoggerCallback
trackers = plain + [MLflowLoggerCallback(tracking_uri="file:///nowhere")]
print(json.dumps({"imported": imported, "ours": [ours_plain, count_callbacks(trackers)],
                  "rays": [rays(plain), rays(trackers)]}))
"""

CAMPAIGN = """
import json, sys
from pathlib import Path
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.driver.run import run_campaign
from tests.support.campaigns import campaign

doc = campaign(budget={"trials": 2, "maxConcurrentTrials": 1})
status = run_campaign(parse_campaign(doc), Path(sys.argv[1]), [])
print(json.dumps({"phase": status.phase.value,
                  "imported": sorted(m for m in ("mlflow", "wandb") if m in sys.modules)}))
"""


def python(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_callbacks_are_counted_as_ray_counts_them_and_nothing_is_imported():
    seen = python(COUNTS)
    assert seen["imported"] == []
    assert seen["ours"] == seen["rays"]
    assert seen["ours"][0] == {"CustomCallback": 2, "CSVLoggerCallback": 1,
                               "CustomLoggerCallback": 2}
    assert seen["ours"][1]["MLflowLoggerCallback"] == 1


@pytest.mark.slow
def test_a_campaign_without_trackers_imports_neither_mlflow_nor_wandb(tmp_path):
    seen = python(CAMPAIGN, str(tmp_path / "runs"))
    assert seen == {"phase": "Succeeded", "imported": []}
