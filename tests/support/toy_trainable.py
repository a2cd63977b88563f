"""A toy Tune trainable for the operator's end-to-end tests: a noisy quadratic in ``x`` whose
minimum is at x = 0.3, fast enough for a campaign of a few trials on two cores.

It keeps a journal (``config["journal"]``): one ``start TRIAL`` line when a trial's actor starts
and one ``done TRIAL`` line when it reaches its last iteration, so a test can tell which trials
ran twice (a resumed experiment must not re-run finished trials).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ray import tune


class Quadratic(tune.Trainable):
    def setup(self, config: dict[str, Any]) -> None:
        self.x = float(config["x"])
        self.step_seconds = float(config.get("step_seconds", 0.1))
        self.iterations = int(config.get("iterations", 3))
        self.journal = config.get("journal")
        self.t = 0
        self._note("start")

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Actor reuse: the next trial starts in this process (``start`` is still journaled)."""
        self.setup(new_config)
        return True

    def step(self) -> dict[str, Any]:
        time.sleep(self.step_seconds)
        self.t += 1
        loss = (self.x - 0.3) ** 2 + 1.0 / (10 * self.t)
        if self.t >= self.iterations:
            self._note("done")
        return {"loss": loss}

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        Path(checkpoint_dir, "state.json").write_text(json.dumps({"t": self.t}))
        return {}

    def load_checkpoint(self, checkpoint: Any) -> None:
        directory = checkpoint if isinstance(checkpoint, str) else checkpoint.path
        self.t = json.loads(Path(directory, "state.json").read_text())["t"]

    def _note(self, what: str) -> None:
        if self.journal:
            with open(self.journal, "a") as handle:
                handle.write(f"{what} {self.trial_id}\n")
                handle.flush()
                os.fsync(handle.fileno())
