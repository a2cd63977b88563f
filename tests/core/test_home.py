"""``hpo run`` under a uid without a home (a container's arbitrary uid): HOME moves somewhere
writable before Ray starts, since Ray keeps its token under ~/.ray."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hpo_operator.commands.home import ensure_writable_home


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    return tmp_path


def test_a_writable_home_is_kept(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert ensure_writable_home(env) is None
    assert env["HOME"] == str(tmp_path)


@pytest.mark.parametrize("home", ["/nonexistent-home", "", None])
def test_a_missing_home_moves_to_a_private_temporary_one(temp: Path, home: str | None) -> None:
    env = {} if home is None else {"HOME": home}
    new = ensure_writable_home(env)
    assert new == env["HOME"] == str(temp / f"hpo-home-{os.getuid()}")
    assert Path(new).is_dir() and (Path(new).stat().st_mode & 0o777) == 0o700
    assert ensure_writable_home({"HOME": "/nonexistent-home"}) == new  # the same one next time


def test_a_home_that_is_a_file_is_not_used(temp: Path) -> None:
    not_a_dir = temp / "file"
    not_a_dir.write_text("")
    env = {"HOME": str(not_a_dir)}
    assert ensure_writable_home(env) == str(temp / f"hpo-home-{os.getuid()}")


def test_a_planted_link_is_never_used_as_the_home(temp: Path) -> None:
    target = temp / "elsewhere"
    target.mkdir()
    (temp / f"hpo-home-{os.getuid()}").symlink_to(target)
    env = {"HOME": "/nonexistent-home"}
    new = ensure_writable_home(env)
    assert new is not None and Path(new).parent == temp and not Path(new).is_symlink()
    assert Path(new) != target
