"""The strict base of every HPOCampaign spec model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class SpecModel(BaseModel):
    """Strict base: unknown fields are errors (a typo must not be silently ignored), types are
    not coerced (``"24"`` is not an integer, nor is ``true``; an integer is a float, as in JSON)
    and numbers are finite. Manifests are read by alias only (see ``manifest.parse_campaign``);
    Python code may construct models by field name."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
        strict=True, allow_inf_nan=False,
    )
