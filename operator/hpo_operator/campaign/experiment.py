"""A campaign's experiment directory: where its Tune experiment, manifest and status live.

``storage/NAMESPACE/NAME`` (``storage/NAME`` for a manifest that names no namespace, as local
ones do) holds Tune's experiment state and trial logs, beside three files of ours: the manifest
the experiment was started from, the last status and, when the campaign is a Kubernetes object,
that object's uid. This type owns the paths and every decision made from those files: is the
experiment finished, may it resume under this spec, is it another campaign object's, where a
finished one is kept when the campaign runs again, and which driver holds it. No Ray.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .spec import Campaign
from .status import CampaignStatus, now_iso
from .status_io import read_status, write_status

logger = logging.getLogger(__name__)

STATUS_FILE = "campaign-status.json"
MANIFEST_FILE = "campaign.json"
INSTANCE_FILE = "instance"  # the campaign object's identity (a Kubernetes uid), when it has one
INTERRUPTED = "Interrupted"  # the Complete condition's reason when a stop signal ended the run


def interrupted(status: CampaignStatus) -> bool:
    """Whether a stop signal ended the run: the experiment was saved and a rerun resumes it."""
    complete = status.condition("Complete")
    return complete is not None and complete.reason == INTERRUPTED


def finished(status: CampaignStatus | None) -> bool:
    return status is not None and status.phase.terminal and not interrupted(status)


class ExperimentInUse(Exception):
    """Another driver holds the experiment; the message names it."""


def driver_identity(instance: str | None) -> str:
    """Who holds an experiment, as another driver is told: host, process, campaign object."""
    who = f"host {socket.gethostname()}, pid {os.getpid()}"
    return f"{who}, campaign uid {instance}" if instance else who


class ExperimentDir:
    """``storage/NAME`` and the files of ours in it."""

    def __init__(self, storage: str | Path, name: str, namespace: str | None = None) -> None:
        root = Path(storage).expanduser().resolve()
        self.path = (root / namespace if namespace else root) / name

    @classmethod
    def of(cls, storage: str | Path, campaign: Campaign) -> ExperimentDir:
        """Keyed by namespace and name, so that two namespaces' campaigns of one name sharing a
        volume never meet; a manifest without a namespace keeps the plain name."""
        meta = campaign.metadata
        return cls(storage, meta.name, meta.namespace if "namespace" in meta.model_fields_set
                   else None)

    @property
    def status_file(self) -> Path:
        return self.path / STATUS_FILE

    @property
    def manifest_file(self) -> Path:
        return self.path / MANIFEST_FILE

    def read_status(self) -> CampaignStatus | None:
        """The status here, None if there is none; raises StatusUnreadable for a damaged one: a
        finished experiment must never pass for an unfinished one and be overwritten."""
        return read_status(self.status_file)

    def write_status(self, status: CampaignStatus) -> None:
        write_status(self.status_file, status)

    def final_status(self) -> CampaignStatus | None:
        """The status of a finished experiment here, else None."""
        status = self.read_status()
        return status if finished(status) else None

    def set_aside_another_instance(self, instance: str | None) -> None:
        """An experiment left by another campaign object of the same name (deleted and created
        again) is not this campaign's: it is kept under a new name, never resumed or reported."""
        marker = self.path / INSTANCE_FILE
        if instance is not None and marker.is_file() and marker.read_text().strip() != instance:
            self._set_aside(now_iso())

    def spec_conflict(self, campaign: Campaign) -> str | None:
        """Why the unfinished experiment here cannot be resumed with this campaign's spec.

        Restoring it would mix trials of two different campaigns under one name (Tune would go
        on with the old search space and budget), so a changed spec is refused, naming what
        changed.
        """
        if self.final_status() is not None:
            return None
        try:
            stored = json.loads(self.manifest_file.read_text())["spec"]
        except (OSError, ValueError, KeyError):
            return None  # nothing recorded yet: the run died before its first trial
        current = json.loads(campaign.model_dump_json(by_alias=True))["spec"]
        changed = sorted(k for k in stored.keys() | current.keys()
                         if stored.get(k) != current.get(k))
        if not changed:
            return None
        return (f"{self.path} holds an unfinished experiment of this campaign with a different "
                f"spec (changed: {', '.join('spec.' + k for k in changed)}); resume it with the "
                f"manifest it was started from, or start afresh under another metadata.name or "
                f"--storage")

    def unfinished_or_archive(self) -> CampaignStatus | None:
        """The status of an unfinished experiment here, to resume; a finished one is moved
        aside (kept under a timestamped name) and None returned, as for no experiment."""
        if not self.path.exists():
            return None
        previous = self.read_status()
        if finished(previous):
            self._set_aside(previous.completion_time or now_iso())
            return None
        return previous

    def record(self, campaign: Campaign, instance: str | None) -> None:
        """Note what this experiment runs: the manifest, and the campaign object's identity."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.manifest_file.write_text(campaign.model_dump_json(by_alias=True, indent=2))
        if instance is not None:
            (self.path / INSTANCE_FILE).write_text(instance + "\n")

    @contextmanager
    def locked(self, identity: str) -> Iterator[None]:
        """Hold the experiment for one driver; a second one gets :class:`ExperimentInUse`.

        The lock (``flock``, released by the kernel or the NFS server when its process dies,
        so none is ever stale) is a file beside the directory, which may be moved aside.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = self.path.with_name(f".{self.path.name}.lock")
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "unknown"
                raise ExperimentInUse(
                    f"{self.path} is in use by another driver ({holder}): a campaign runs once "
                    f"at a time; wait for it to end or stop it") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{identity}, since {now_iso()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _set_aside(self, when: str) -> Path:
        stamp = when.replace(":", "").replace("-", "")
        target = self.path.with_name(f"{self.path.name}-{stamp}")
        suffix = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}-{stamp}-{suffix}")
            suffix += 1
        shutil.move(str(self.path), str(target))
        logger.info("previous run of %s kept in %s", self.path.name, target)
        return target
