"""Reading and writing campaign statuses: the one place with the one policy.

A status comes from a file (``--status-file``, the experiment's ``campaign-status.json``), from
the progress ConfigMap or from the API. Driver and operator ship in separate images whose
versions drift, so a status is parsed leniently where that is safe (fields a newer driver adds
are ignored) and strictly where it is not (a phase this version does not know is an error): a
status that does not parse raises :class:`StatusUnreadable` with the reason, and each caller
decides what that means for it. It is never silently taken for an empty status.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .status import CampaignStatus


class StatusUnreadable(ValueError):
    """A status that exists but cannot be read as one; the message says why, in one line."""


def parse_status(raw: str | bytes | dict[str, Any] | None, *,
                 source: str = "status") -> CampaignStatus:
    """A status from JSON text or a decoded object; ``None`` or ``{}`` is a new, empty status."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except UnicodeDecodeError:
            raise StatusUnreadable(f"{source} is a binary file, not JSON") from None
        except (ValueError, RecursionError) as exc:
            raise StatusUnreadable(f"{source} is not JSON: {_first_line(exc)}") from None
    if raw is not None and not isinstance(raw, dict):
        raise StatusUnreadable(f"{source} is a JSON {type(raw).__name__}, not an object")
    try:
        return CampaignStatus.model_validate(raw or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        raise StatusUnreadable(f"{source}: {where}: {error['msg']}") from None


def read_status(path: str | Path) -> CampaignStatus | None:
    """The status in ``path``; None when there is no such file. Raises :class:`StatusUnreadable`
    for a file that is there but empty, truncated, binary or not a status."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StatusUnreadable(f"{path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise StatusUnreadable(f"{path} is empty")
    return parse_status(data, source=str(path))


def read_status_or_none(path: str | Path) -> CampaignStatus | None:
    """The status in ``path``, or None when it is missing or unreadable: for callers that only
    show progress and have nothing to lose by showing none."""
    try:
        return read_status(path)
    except StatusUnreadable:
        return None


def write_status(path: str | Path, status: CampaignStatus) -> None:
    """Write atomically: a reader sees the old status or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(status.to_dict(), handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
