"""Preemption is not failure: which trial errors mean that the trial's node went away. Pure.

A Ray node vanishes when its pod is evicted or preempted, its Slurm node fails, or its raylet is
killed; the trial on it had done nothing wrong, and rerunning it from its last checkpoint on
another node is the whole remedy. Such an error does not use up one of the trial's
``runtime.maxTrialRetries`` nor trip ``runtime.failFast``. Ray tells it in the actor's error: its
``preempted`` flag (a node drained for preemption), a ``NodeDiedError``, the words of the node's
death, or an ``ActorUnavailableError``: the trial's process could not be reached, which is what the
driver sees first when a node vanishes, before the head has declared the node dead. Only Ray's own
errors are read for those words: a user's exception that happens to say "node has died" is the
user's failure. A trial's own crash (a segfault, an exit) is Ray's "worker process has died": a
failure.

Reads exceptions by their class names and text, so it needs no Ray import.
"""

from __future__ import annotations

# A trial whose every node dies (one that kills its own raylet, say by exhausting its memory)
# must not be retried for ever: beyond this many preemptions, they count as failures.
MAX_PREEMPTIONS_PER_TRIAL = 10

# Ray's exceptions for a lost actor or node, by class name (any in the exception's MRO).
_NODE_LOST_CLASSES = frozenset({"NodeDiedError", "ActorUnavailableError"})
_RAY_SYSTEM_CLASSES = frozenset({"RayActorError", "ActorDiedError", "ActorUnavailableError",
                                 "NodeDiedError", "LocalRayletDiedError", "WorkerCrashedError"})
# What Ray's GCS and core worker write when an actor's or task's node died (Ray 2.x).
_NODE_DEATH_WORDS = (
    "because its node has died",
    "the node it was running on is dead",
    "node was forcibly preempted",
    "node was preempted",
    "due to node preemption",
    "actor died by preemption",
)


def _class_names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def is_preemption(error: BaseException | None) -> bool:
    """Whether a trial's error says that its node went away rather than that it failed."""
    for _ in range(4):  # a task error may wrap the actor's (Ray Train's workers)
        if error is None:
            return False
        names = _class_names(error)
        if getattr(error, "preempted", False) is True or names & _NODE_LOST_CLASSES:
            return True
        if names & _RAY_SYSTEM_CLASSES:
            text = str(error).lower()
            return any(words in text for words in _NODE_DEATH_WORDS)
        if "RayTaskError" not in names:
            return False
        cause = getattr(error, "cause", None)
        error = cause if isinstance(cause, BaseException) else None
    return False


def forgiven(preemptions_so_far: int) -> bool:
    """Whether one more preemption of a trial is still retried for free."""
    return preemptions_so_far < MAX_PREEMPTIONS_PER_TRIAL
