"""The test toolkit, imported by package name (``from tests.support.poll import wait_until``).

- :mod:`.campaigns`: one small valid HPOCampaign manifest and overrides merged into it.
- :mod:`.trainables`: every toy trainable, each with the behaviour its tests rely on.
- :mod:`.poll`: waiting for a condition, with what was last seen when it never comes.
- :mod:`.processes`: free ports and stopping the processes a test started.
- :mod:`.ray_nodes`: real Ray nodes on this machine (a head, workers) and the wait for a head.
- :mod:`.cluster`, :mod:`.kube_emulator`, :mod:`.kuberay_standin`: the operator's end-to-end rig.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
