"""GPU utilisation sampled by nvidia-smi in the background while a phase of a benchmark runs."""

from __future__ import annotations

import shutil
import statistics
import subprocess
from pathlib import Path
from types import TracebackType

QUERY = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv", "-lms", "200"]


class Utilisation:
    """``with Utilisation(path) as u: ...`` samples every 200 ms into ``path`` (CSV, as
    nvidia-smi writes it); ``u.mean()`` is the mean busy percentage, None without nvidia-smi."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Utilisation:
        if shutil.which(QUERY[0]):
            self._file = self.path.open("wb")
            self._process = subprocess.Popen(QUERY, stdout=self._file,
                                             stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._file.close()

    def samples(self) -> list[float]:
        return parse(self.path.read_text()) if self._process is not None else []

    def mean(self) -> float | None:
        samples = self.samples()
        return statistics.mean(samples) if samples else None


def parse(text: str) -> list[float]:
    """Percentages from nvidia-smi's CSV (``utilization.gpu [%]`` header, then ``87 %`` lines)."""
    values = []
    for line in text.splitlines():
        number = line.strip().removesuffix("%").strip()
        try:
            values.append(float(number))
        except ValueError:
            continue  # the header, or a line cut short when the sampler was stopped
    return values
