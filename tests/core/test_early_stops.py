"""The record of the trials a scheduler stopped early (campaign.early_stops): read back on resume,
so each line must be on disk as it is noted, and nothing is left open after the run."""

from __future__ import annotations

from pathlib import Path

from hpo_operator.campaign import early_stops


def test_each_early_stop_is_in_the_file_as_soon_as_it_is_noted(tmp_path: Path) -> None:
    told: list[str] = []
    with early_stops.reporting_to(told.append):
        for trial in ("a", "b", "c"):
            early_stops.record(tmp_path, trial)
            assert trial in early_stops.read(tmp_path)  # a driver killed now keeps it
        (held,) = early_stops._run.current.files.values()  # type: ignore[union-attr]
    assert told == ["a", "b", "c"]
    assert held.closed and early_stops._run.current is None
    early_stops.record(tmp_path, "d")  # outside a run: written, nobody told
    assert early_stops.read(tmp_path) == {"a", "b", "c", "d"} and told == ["a", "b", "c"]


def test_an_unwritable_experiment_does_not_stop_the_run(tmp_path: Path) -> None:
    told: list[str] = []
    with early_stops.reporting_to(told.append):
        early_stops.record(tmp_path / "gone", "a")
    assert told == ["a"] and early_stops.read(tmp_path / "gone") == set()
