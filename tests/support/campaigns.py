"""Campaign manifests for the tests: one small valid HPOCampaign, and overrides merged into it.

``campaign()`` is :data:`DEFAULT` (campaign ``toy``: an ASHA campaign of 6 trials of the
analytic :class:`~tests.support.trainables.Curve` over ``x`` in [0, 1]). Keyword arguments name
top-level spec sections; positional dicts after the name are layers of such sections (a base
that several tests share); all are merged in order, the keywords last:

- mappings merge key by key, at any depth: ``budget={"trials": 2}`` keeps maxConcurrentTrials;
- ``None`` deletes a key: ``objective=None``, ``budget={"maxConcurrentTrials": None}``;
- a mapping with a ``type`` (a scheduler, a searcher, a search-space parameter) is taken whole,
  since its other fields depend on its type: ``strategy={"scheduler": {"type": "fifo"}}`` drops
  ASHA's maxT rather than giving FIFO one;
- ``replace(value)`` takes any value whole: ``searchSpace=replace({"lr": ...})`` has no ``x``;
- lists and scalars replace.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from hpo_operator.campaign.manifest import ManifestError, parse_campaign

from tests.support.trainables import BOWL_SPACE, ITERATIONS

if TYPE_CHECKING:
    from hpo_operator.campaign.spec import Campaign

DEFAULT: dict[str, Any] = {
    "apiVersion": "hpo.dev/v1alpha1",
    "kind": "HPOCampaign",
    "metadata": {"name": "toy"},
    "spec": {
        "objective": {"metric": "loss", "mode": "min"},
        "searchSpace": {"x": {"type": "float", "min": 0.0, "max": 1.0}},
        "strategy": {"scheduler": {"type": "asha", "maxT": 4, "gracePeriod": 1,
                                   "reductionFactor": 2}},
        "budget": {"trials": 6, "maxConcurrentTrials": 2},
        "trainable": {"entrypoint": "tests.support.trainables:Curve"},
    },
}


@dataclass(frozen=True)
class Replace:
    value: Any


def replace(value: Any) -> Replace:
    """An override taken whole, not merged into what it replaces."""
    return Replace(value)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``overrides`` merged in, by the rules of this module."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Replace):
            merged[key] = copy.deepcopy(value.value)
        elif isinstance(value, dict) and "type" not in value:
            current = merged.get(key)
            merged[key] = merge(current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def campaign(name: str = "toy", /, *layers: dict[str, Any], namespace: str | None = None,
             **spec: Any) -> dict[str, Any]:
    """A valid campaign manifest (a dict) named ``name``, with the spec overrides merged in."""
    doc = copy.deepcopy(DEFAULT)
    doc["metadata"]["name"] = name
    if namespace is not None:
        doc["metadata"]["namespace"] = namespace
    for layer in (*layers, spec):
        doc["spec"] = merge(doc["spec"], layer)
    return doc


def exact(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A campaign manifest whose spec is exactly ``spec``: for tests that write a whole one."""
    doc = campaign(name)
    doc["spec"] = copy.deepcopy(spec)
    return doc


def parsed(name: str = "toy", /, *layers: dict[str, Any], namespace: str | None = None,
           **spec: Any) -> Campaign:
    """:func:`campaign`, parsed and validated as ``hpo`` does."""
    return parse_campaign(campaign(name, *layers, namespace=namespace, **spec))


def problems(doc: dict[str, Any]) -> dict[str, str]:
    """The problems validation reports for ``doc``, by field path (it must be invalid)."""
    with pytest.raises(ManifestError) as info:
        parse_campaign(doc)
    return {p.path: str(p) for p in info.value.problems}


def write(directory: Path, doc: dict[str, Any], filename: str | None = None) -> Path:
    """``doc`` as a YAML file in ``directory`` (``<name>.yaml`` unless ``filename``)."""
    path = directory / (filename or f"{doc['metadata']['name']}.yaml")
    path.write_text(yaml.safe_dump(doc))
    return path


# -- bases for the strategy tests: campaigns on the analytic toys --------------------------------

STEP_DECAY_LRS = [1.0, 0.1, 0.01, 0.001, 0.0001]


def on_bowl(scheduler: dict[str, Any] | None, searcher: dict[str, Any] | None,
            trials: int = 12, iterations: int | None = 3) -> dict[str, Any]:
    """Overrides for a campaign on the Bowl learning curve over BOWL_SPACE (``None`` leaves a
    setting out); maxConcurrentTrials 2 as a small shared machine allows."""
    return {"searchSpace": replace(BOWL_SPACE),
            "strategy": {"scheduler": scheduler, "searcher": searcher},
            "budget": {"trials": trials, "maxConcurrentTrials": 2,
                       "maxIterationsPerTrial": iterations},
            "trainable": {"entrypoint": "tests.support.trainables:Bowl"}}


def on_step_decay(scheduler: dict[str, Any], seed: int, trials: int = 4) -> dict[str, Any]:
    """Overrides for a campaign on the PBT toy over STEP_DECAY_LRS: the whole population runs at
    once on two CPUs (its steps cost nothing)."""
    return {"searchSpace": replace({"lr": {"type": "choice", "values": STEP_DECAY_LRS}}),
            "strategy": {"scheduler": scheduler, "searcher": {"type": "random", "seed": seed}},
            "budget": {"trials": trials, "maxConcurrentTrials": trials,
                       "maxIterationsPerTrial": ITERATIONS},
            "resources": {"perTrial": {"cpu": 2 / trials}},
            "trainable": {"entrypoint": "tests.support.trainables:StepDecay"}}


# -- a budget in CPU-hours that is spent mid-rung, exactly ---------------------------------------

METERED_STEP = 0.05  # CPU-seconds per iteration: one CPU, MeteredCurve's reported running time
METERED_BUDGET_ITERATIONS = 12.5


def on_metered_budget(on_exhausted: str, trials: int = 12) -> dict[str, Any]:
    """Overrides for a campaign whose cpuHours are spent at its 13th iteration, one trial at a
    time: the warm-start points fix what ASHA (rungs 2, 4, 8) does. The first trial (x = 0.3, the
    optimum) runs its 8 iterations, the second (x = 0.9) is stopped at rung 2, the third (x = 0.3
    again) passes rung 2 and spends the budget at its 3rd iteration, on its way to rung 4."""
    first = [{"x": 0.3}, {"x": 0.9}, {"x": 0.3}]
    return {"strategy": {"scheduler": {"type": "asha", "maxT": 8, "gracePeriod": 2,
                                       "reductionFactor": 2},
                         "searcher": {"type": "random", "seed": 3, "pointsToEvaluate": first}},
            "budget": {"trials": trials, "maxConcurrentTrials": 1, "maxIterationsPerTrial": None,
                       "cpuHours": METERED_BUDGET_ITERATIONS * METERED_STEP / 3600,
                       "onExhausted": on_exhausted},
            "trainable": {"entrypoint": "tests.support.trainables:MeteredCurve",
                          "config": {"step_seconds": METERED_STEP}},
            "resources": {"perTrial": {"cpu": 1}}}
