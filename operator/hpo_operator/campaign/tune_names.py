"""Ray Tune's words that the campaign speaks: trial states and the iteration result key.

Plain strings, so the core reads them without importing Ray.
"""

from __future__ import annotations

# Trial.status values.
PENDING, RUNNING, PAUSED, TERMINATED, ERROR = "PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR"
# States Tune changes without calling a callback (pausing, queueing): read off the trials.
UNFINISHED_STATES = (PENDING, PAUSED, RUNNING)

# The result key counting a trial's iterations, Tune's default time attribute.
TRAINING_ITERATION = "training_iteration"
# Marks the copy of a trial's last result that Tune sends when a trial ends without saying
# ``done``: no new iteration, and callbacks never see it.
RESULT_DUPLICATE = "__duplicate__"
