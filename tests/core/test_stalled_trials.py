"""Stalls named on a real local Ray (2 CPUs): trials of 2 CPUs each, so that the second waits
for the first; the first hangs in its third iteration until the test lets it go.

The campaign runs in this process's main thread (Tune installs signal handlers); a watcher thread
reads the published status until both conditions show, then creates the file that ends the hang.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.progress import JsonFileSink
from hpo_operator.campaign.status import Phase
from hpo_operator.driver.run import run_campaign

from tests.support.campaigns import campaign
from tests.support.poll import wait_until

pytestmark = pytest.mark.slow


def _conditions(status_file: Path) -> dict[str, dict]:
    if not status_file.exists():
        return {}
    return {c["type"]: c for c in json.loads(status_file.read_text()).get("conditions", [])}


def _both_true(status_file: Path) -> dict[str, dict] | None:
    found = _conditions(status_file)
    true = {k: c for k, c in found.items() if k in ("TrialsPending", "TrialStalled")
            and c["status"] == "True"}
    return true if len(true) == 2 else None


def test_a_waiting_and_a_hanging_trial_are_named(local_ray, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    doc = campaign(budget={"trials": 2, "maxConcurrentTrials": 2, "maxIterationsPerTrial": 5},
                   strategy={"scheduler": {"type": "fifo"}}, resources={"perTrial": {"cpu": 2}},
                   runtime={"trialPendingSeconds": 1, "trialStallFactor": 10,
                            "trialStallMinSeconds": 1},
                   trainable={"entrypoint": "tests.support.stalling_trainables:"
                                            "hangs_at_third_iteration",
                              "config": {"workdir": str(work)}})
    status_file = tmp_path / "status.json"
    seen: dict = {}

    def watch() -> None:
        try:
            seen.update(wait_until(lambda: _both_true(status_file), 120, interval=0.2,
                                   message="TrialsPending and TrialStalled"))
            seen["hanging"] = [p.name.split("-", 1)[1] for p in work.glob("hanging-*")]
        finally:
            (work / "go").write_text("")  # the campaign ends whatever the watcher saw

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    status = run_campaign(parse_campaign(doc), tmp_path / "runs", [JsonFileSink(status_file)],
                          publish_interval=0.3)
    watcher.join(timeout=30)

    assert seen, "the conditions never showed together"
    pending, stalled = seen["TrialsPending"], seen["TrialStalled"]
    assert pending["reason"] == "WaitingForResources"
    assert ("1 trial(s) waiting to start for longer than 1 s" in pending["message"]
            and "each needs CPU 2, 1 x = CPU 2; the cluster has CPU 2 in all, CPU 0 free"
            in pending["message"]), pending
    assert len(seen["hanging"]) == 1
    assert stalled["message"].startswith(f"trial {seen['hanging'][0]} has reported nothing"), \
        stalled
    # Released, both trials finished; the conditions were cleared.
    assert status.phase is Phase.SUCCEEDED and status.trials.completed == 2, status
    final = _conditions(status_file)
    assert final["TrialsPending"]["status"] == "False"
    assert final["TrialStalled"]["status"] == "False"
