"""What a campaign's spec resolves to: every setting of its strategy, defaults filled in.

``hpo validate --explain`` prints this, in the manifest's own field names (the search space as
the Ray Tune calls it becomes), so that a user sees the Ray Tune settings a manifest gets without reading the defaults off the docs. Defaults that
depend on other sections are resolved (PBT's seed, checkpoints kept, their score order); the one
that depends on the trainable's code is left as null (``runtime.reuseActors``: whether it has
``reset_config``); stop criteria name the metric and direction they use. No Ray.
"""

from __future__ import annotations

from typing import Any

from .searchspace import tune_call
from .spec import CampaignSpec, PopulationScheduler
from .strategies import checkpoints_to_keep, population_seed


def resolved_settings(spec: CampaignSpec) -> dict[str, Any]:
    def dump(model: Any) -> dict[str, Any]:
        return model.model_dump(by_alias=True, mode="json")

    strategy = {part: _type_first(value) for part, value in dump(spec.strategy).items()}
    if isinstance(spec.strategy.scheduler, PopulationScheduler):
        strategy["scheduler"]["seed"] = population_seed(spec)
    checkpoint = dump(spec.checkpoint)
    checkpoint["keep"] = checkpoints_to_keep(spec)
    if spec.checkpoint.score_attribute is not None:
        checkpoint["scoreOrder"] = spec.checkpoint.resolved_score_order(spec.objective)
    return {"searchSpace": _search_space(spec), "strategy": strategy,
            "budget": _budget(spec, dump(spec.budget)),
            "checkpoint": checkpoint, "runtime": dump(spec.runtime)}


def _search_space(spec: CampaignSpec) -> dict[str, Any]:
    """Each parameter as the Ray Tune call it becomes, and its condition."""
    shown: dict[str, Any] = {}
    for name, param in spec.search_space.items():
        shown[name] = tune_call(param)
        if param.when is not None:
            shown[name] = {"domain": shown[name], "when": {param.when.param: param.when.values}}
    return shown


def _budget(spec: CampaignSpec, budget: dict[str, Any]) -> dict[str, Any]:
    """Stop criteria name their metric and direction: the objective's unless they say."""
    objective, stop = spec.objective, budget["stop"]
    for threshold in stop["thresholds"]:
        threshold["mode"] = threshold["mode"] or objective.mode
    plateau = stop["plateau"]
    if plateau is not None:
        plateau["metric"] = plateau["metric"] or objective.metric
        if plateau["metric"] == objective.metric:
            plateau["mode"] = plateau["mode"] or objective.mode
    return budget


def _type_first(fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": fields["type"], **{k: v for k, v in fields.items() if k != "type"}}
