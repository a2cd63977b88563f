"""The files a campaign keeps in its experiment directory, by name.

The driver writes them; ``hpo report`` (:mod:`.analysis`) and the backends read them. They are
named here, in the core, so that readers need not import the driver (and Ray with it).
"""

from __future__ import annotations

STATUS_FILE = "campaign-status.json"  # the campaign's status, as the driver last published it
MANIFEST_FILE = "campaign.json"  # the validated manifest the experiment was started from
