"""Reading HPOCampaign manifests: YAML in, a validated :class:`Campaign` or every problem out."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .rules import Problem, check_spec
from .spec import API_VERSION, KIND, Campaign


class ManifestError(Exception):
    """A manifest that must not run; ``problems`` lists each one with its field path."""

    def __init__(self, problems: list[Problem], source: str = "manifest") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem(s)):\n{lines}")

    def lines(self) -> list[str]:
        """One ``source: path: problem`` line each; a problem with the whole file names it once."""
        return [str(p) if p.path == self.source else f"{self.source}: {p}" for p in self.problems]


def load_manifest(path: str | Path) -> Campaign:
    """Parse and validate the single HPOCampaign document in ``path``."""
    source = str(path)  # as the user spelled it, for messages
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ManifestError([Problem(source, f"cannot read the file: {exc.strerror}")],
                            source) from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError([Problem(source, _yaml_problem(exc))], source) from None
    campaigns = [d for d in docs if isinstance(d, dict) and d.get("kind") == KIND]
    if len(campaigns) != 1:
        raise ManifestError([_kind_problem(source, docs, len(campaigns))], source)
    return parse_campaign(campaigns[0], source=source)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's message without its ``in "<unicode string>"`` lines, marks 1-based."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return f"not valid YAML: {exc}"
    mark = exc.problem_mark
    message = f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    if exc.context and exc.context_mark is not None:
        # the problem is often found far from its cause, e.g. an unclosed bracket
        context = exc.context_mark
        message += f" ({exc.context} from line {context.line + 1}, column {context.column + 1})"
    return message


def _kind_problem(source: str, docs: list[Any], found: int) -> Problem:
    expected = f"expected {KIND} (apiVersion {API_VERSION})"
    if not docs:
        return Problem(source, f"the file is empty: {expected}")
    if found > 1:
        return Problem("kind", f"expected exactly one {KIND} document, found {found}")
    kinds = [d.get("kind") if isinstance(d, dict) else None for d in docs]
    if all(k is None for k in kinds):
        return Problem("kind", f"is missing: {expected}")
    shown = ", ".join(sorted({str(k) for k in kinds if k is not None}))
    return Problem("kind", f"found kind {shown}, {expected}")


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
    kind = error["type"]
    if kind == "missing":
        return Problem(path, "is required")
    if kind == "extra_forbidden":
        return Problem(path, _unknown_field(error["loc"]))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_problem(path, error, value)
    if kind == "value_error":
        # our validators' messages already quote the value they reject
        return Problem(path, error["msg"].removeprefix("Value error, "))
    return Problem(path, error["msg"], value)


def _tag_problem(path: str, error: Any, value: Any) -> Problem:
    """A discriminated union (scheduler, searcher, parameter): the user's ``type`` is the field."""
    tags = _union_tags(error["loc"])
    expected = f"; expected one of: {', '.join(tags)}" if tags else ""
    if error["type"] == "union_tag_not_found":
        return Problem(f"{path}.type", f"is required{expected}")
    tag = value.get("type") if isinstance(value, dict) else error["ctx"]["tag"]
    what = path.rsplit(".", 1)[-1] if path.endswith((".scheduler", ".searcher")) \
        else "parameter type"
    message = f"unknown {what} {tag!r}{expected}"
    close = difflib.get_close_matches(str(tag), tags, n=1)
    return Problem(f"{path}.type", message + (f" (did you mean {close[0]}?)" if close else ""))


def _unknown_field(loc: tuple[Any, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "is not a known field (check the spelling)"
    known = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"is not a known field; did you mean {close[0]}?"
    return f"is not a known field; expected one of: {', '.join(known)}"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    node = _annotation_at(loc)
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _union_tags(loc: tuple[Any, ...]) -> list[str]:
    """The ``type`` values the discriminated union at ``loc`` accepts, in declaration order."""
    node = _annotation_at(loc)
    if not _is_union(node):
        return []
    return [tag for member in typing.get_args(node) for tag in _tags_of(member)]


def _annotation_at(loc: tuple[Any, ...]) -> Any:
    """The type the spec model validates the value at ``loc`` with, following pydantic's steps
    (field aliases, dict keys, list indices, union tags); None where the path leaves the model."""
    node: Any = Campaign
    for step in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = next((f for name, f in node.model_fields.items()
                          if step in (name, f.alias)), None)
            node = field.annotation if field is not None else None
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        elif typing.get_origin(node) is list:
            node = typing.get_args(node)[0]
        elif _is_union(node):
            node = next((m for m in typing.get_args(node) if step in _tags_of(m)), None)
        else:
            return None
    return _unwrap(node)


def _unwrap(node: Any) -> Any:
    """``Annotated[X, ...]`` -> X and ``X | None`` -> X."""
    while True:
        if typing.get_origin(node) is typing.Annotated:
            node = typing.get_args(node)[0]
        elif _is_union(node) and type(None) in typing.get_args(node):
            rest = [a for a in typing.get_args(node) if a is not type(None)]
            node = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
        else:
            return node


def _is_union(node: Any) -> bool:
    return typing.get_origin(node) in (typing.Union, types.UnionType)


def _tags_of(member: Any) -> tuple[Any, ...]:
    field = getattr(member, "model_fields", {}).get("type")
    return typing.get_args(field.annotation) if field is not None else ()


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
