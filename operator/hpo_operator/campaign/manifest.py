"""Reading HPOCampaign manifests: YAML in, a validated :class:`Campaign` or every problem out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .rules import Problem, check_spec
from .spec import Campaign


class ManifestError(Exception):
    """A manifest that must not run; ``problems`` lists each one with its field path."""

    def __init__(self, problems: list[Problem], source: str = "manifest") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem(s)):\n{lines}")


def load_manifest(path: str | Path) -> Campaign:
    """Parse and validate the single HPOCampaign document in ``path``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ManifestError([Problem(str(path), f"cannot read the file: {exc.strerror}")],
                            str(path)) from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError([Problem(str(path), f"is not valid YAML: {exc}")], str(path)) from None
    campaigns = [d for d in docs if isinstance(d, dict) and d.get("kind") == "HPOCampaign"]
    if len(campaigns) != 1:
        raise ManifestError(
            [Problem("kind", f"expected exactly one HPOCampaign document, found {len(campaigns)}")],
            str(path))
    return parse_campaign(campaigns[0], source=str(path))


def parse_campaign(document: dict[str, Any], source: str = "manifest") -> Campaign:
    """Validate a manifest already read into a dict (from YAML or from the Kubernetes API)."""
    try:
        campaign = Campaign.model_validate(document)
    except ValidationError as exc:
        raise ManifestError([_problem(document, e) for e in exc.errors()], source) from None
    problems = check_spec(campaign.spec)
    if problems:
        raise ManifestError(problems, source)
    return campaign


def _problem(document: dict[str, Any], error: Any) -> Problem:
    path, value = _render_location(document, error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return Problem(path, "is required")
    if error["type"] == "extra_forbidden":
        return Problem(path, "is not a known field (check the spelling)")
    return Problem(path, message, value)


def _render_location(document: Any, loc: tuple[Any, ...]) -> tuple[str, Any]:
    """A dotted path through the raw document, skipping pydantic's union-tag steps."""
    parts: list[str] = []
    node: Any = document
    for step in loc:
        if isinstance(node, dict) and step not in node and node.get("type") == step:
            continue  # discriminated union: pydantic names the variant, the user never wrote it
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1]}[{step}]"] if parts else [f"[{step}]"]
        else:
            parts.append(str(step))
        node = node.get(step) if isinstance(node, dict) else (
            node[step] if isinstance(node, list) and isinstance(step, int) and step < len(node)
            else None)
    return ".".join(parts), node
