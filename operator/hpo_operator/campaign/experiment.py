"""A campaign's experiment directory: where its Tune experiment, manifest and status live.

``storage/NAME`` holds Tune's experiment state and trial logs, beside three files of ours: the
manifest the experiment was started from, the last status and, when the campaign is a Kubernetes
object, that object's uid. This type owns the paths and every decision made from those files:
is the experiment finished, may it resume under this spec, is it another campaign object's, and
where a finished one is kept when the campaign runs again. No Ray: reading it costs nothing.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from .spec import Campaign
from .status import CampaignStatus, now_iso
from .status_io import read_status_or_none, write_status

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


class ExperimentDir:
    """``storage/NAME`` and the files of ours in it."""

    def __init__(self, storage: str | Path, name: str) -> None:
        self.path = Path(storage).expanduser().resolve() / name

    @classmethod
    def of(cls, storage: str | Path, campaign: Campaign) -> ExperimentDir:
        return cls(storage, campaign.metadata.name)

    @property
    def status_file(self) -> Path:
        return self.path / STATUS_FILE

    @property
    def manifest_file(self) -> Path:
        return self.path / MANIFEST_FILE

    def read_status(self) -> CampaignStatus | None:
        return read_status_or_none(self.status_file)

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
