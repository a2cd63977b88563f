"""A writable home directory for a run.

Ray keeps its session token under ``~/.ray`` and the trainer caches its data sets under
``~/.cache``. A container started as an arbitrary uid (a pod's ``runAsUser``, OpenShift) whose
image has no passwd entry for it gets ``HOME=/``, which it cannot write: Ray would then die with
``PermissionError: '/.ray'``. Before Ray starts, such a run moves ``HOME`` to a private directory
under the temporary directory, so that the driver, its embedded Ray and every worker process it
starts (they inherit the environment) find a home they can write.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import MutableMapping


def writable(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def ensure_writable_home(env: MutableMapping[str, str] = os.environ) -> str | None:
    """Point ``HOME`` at a writable directory when it is not one; returns the new home, or
    None when ``HOME`` was fine (or nothing writable was found, and Ray will say so)."""
    home = env.get("HOME") or ""
    if home and writable(home):
        return None
    uid = os.getuid()
    temp = tempfile.gettempdir()
    candidate = os.path.join(temp, f"hpo-home-{uid}")
    try:
        os.mkdir(candidate, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    info = os.lstat(candidate)
    if not (stat.S_ISDIR(info.st_mode) and info.st_uid == uid and writable(candidate)):
        # Someone else's, or a link: a fresh private directory instead.
        try:
            candidate = tempfile.mkdtemp(prefix=f"hpo-home-{uid}-", dir=temp)
        except OSError:
            return None
    env["HOME"] = candidate
    return candidate
