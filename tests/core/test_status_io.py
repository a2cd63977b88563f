"""Reading and writing statuses: one policy for every reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpo_operator.campaign.status import CampaignStatus, Phase
from hpo_operator.campaign.status_io import (StatusUnreadable, parse_status, read_status,
                                             read_status_or_none, write_status)


def test_a_written_status_reads_back_equal(tmp_path: Path) -> None:
    status = CampaignStatus(phase=Phase.RUNNING, message="m", resumed=2)
    status.set_condition("Resumed", True, "ExperimentRestored")
    write_status(tmp_path / "s.json", status)
    assert read_status(tmp_path / "s.json") == status
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left


def test_a_missing_file_is_no_status(tmp_path: Path) -> None:
    assert read_status(tmp_path / "absent.json") is None


@pytest.mark.parametrize("content, why", [
    (b"", "empty"),
    (b'{"phase": "Running", "trials": {"tot', "not JSON"),
    (b"\xff\xfe\x00binary", "binary"),
    (b"[1, 2]", "JSON list"),
    (b'{"phase": "Hibernating"}', "phase"),
    (b'{"trials": {"total": "many"}}', "trials.total"),
])
def test_an_unreadable_file_says_why_and_is_never_an_empty_status(tmp_path: Path, content: bytes,
                                                                    why: str) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    with pytest.raises(StatusUnreadable, match=why):
        read_status(path)
    assert read_status_or_none(path) is None


def test_fields_a_newer_driver_adds_are_accepted() -> None:
    status = parse_status(json.dumps({"phase": "Running", "resumed": 1,
                                      "heartbeat": "2026-01-01T00:00:00Z",
                                      "trials": {"total": 3, "preempted": 1}}))
    assert status.phase is Phase.RUNNING and status.resumed == 1 and status.trials.total == 3


def test_an_empty_object_is_a_new_status() -> None:
    assert parse_status(None) == parse_status({}) == CampaignStatus()
