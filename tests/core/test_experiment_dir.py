"""The experiment directory: keyed by namespace, held by one driver, never overwritten blind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from hpo_operator.campaign.experiment import ExperimentDir
from hpo_operator.campaign.status import Phase
from hpo_operator.driver.run import run_campaign
from tests.support.campaigns import parsed


def campaign(namespace: str | None = None):
    return parsed("toy", namespace=namespace)


def test_campaigns_of_one_name_in_two_namespaces_get_two_directories(tmp_path: Path) -> None:
    a = ExperimentDir.of(tmp_path, campaign("team-a")).path
    b = ExperimentDir.of(tmp_path, campaign("team-b")).path
    assert a == tmp_path / "team-a" / "toy" and b == tmp_path / "team-b" / "toy"
    assert ExperimentDir.of(tmp_path, campaign()).path == tmp_path / "toy"  # a local manifest


def test_a_second_driver_is_kept_out_while_the_first_holds_the_experiment(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from hpo_operator.campaign.experiment import ExperimentDir
            with ExperimentDir({str(tmp_path)!r}, "toy").locked("the first driver"):
                print("held", flush=True)
                sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (tmp_path / "toy").mkdir()
        (tmp_path / "toy" / "campaign-status.json").write_text('{"phase": "Running"}')
        status = run_campaign(campaign(), tmp_path, [])
    finally:
        holder.communicate("")
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "Conflict"
    assert "in use by another driver (the first driver, since " in status.message
    assert (tmp_path / "toy" / "campaign-status.json").read_text() == '{"phase": "Running"}'
    # Once the first driver is gone, so is its lock: a dead driver never blocks a campaign.
    with ExperimentDir(tmp_path, "toy").locked("the next driver"):
        pass


def test_an_unreadable_status_file_is_reported_and_never_overwritten(tmp_path: Path) -> None:
    exp = tmp_path / "toy"
    exp.mkdir()
    (exp / "campaign.json").write_text(campaign().model_dump_json(by_alias=True))
    (exp / "campaign-status.json").write_text('{"phase": "Succ')  # a finished one, truncated
    status = run_campaign(campaign(), tmp_path, [])
    assert status.phase is Phase.FAILED
    assert status.condition("Complete").reason == "StatusUnreadable"
    assert "cannot tell whether the experiment" in status.message and "not JSON" in status.message
    assert (exp / "campaign-status.json").read_text() == '{"phase": "Succ'
    assert sorted(p.name for p in tmp_path.iterdir()) == [".toy.lock", "toy"]  # nothing moved
