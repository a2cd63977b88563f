"""Pydantic's validation errors in a manifest's own words: the field path as the manifest spells
it, the rejected value (quoted, cut short) and the rule, never the model's internals."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel

from .rules import Problem
from .shown import quote
from .spec import Campaign
from .spec.k8s import PATTERN_RULES
from .spec import PARAM_NAME_PATTERN, METRIC_PATTERN, ENTRYPOINT_PATTERN
from .spec.tracking import (
    SECRET_KEY_PATTERN,
    TAG_PATTERN,
    TRACKING_NAME_PATTERN,
    TRACKING_URI_PATTERN,
)

_PATTERN_RULES = {
    **PATTERN_RULES,
    PARAM_NAME_PATTERN: "must be an identifier: letters, digits, '_', '.' or '-', starting with "
                        "a letter or '_'",
    METRIC_PATTERN: "must be a metric name: letters, digits, '_', '.', '/', ':' or '-', "
                    "starting with a letter or '_'",
    ENTRYPOINT_PATTERN: "must be module:attribute, e.g. my_package.train:Trainable",
    TRACKING_URI_PATTERN: "must be a tracking URI: http:// or https:// and a host (no "
                          "credentials: tokens come from a Secret), or file: and an absolute "
                          "path; printable characters, no spaces",
    TRACKING_NAME_PATTERN: "must be a name of letters, digits, '_', '.', '-' and spaces, "
                           "starting with a letter, digit or '_'",
    TAG_PATTERN: "must be a tag of letters, digits, '_', '.', ':', '/', '-' and spaces, starting "
                 "with a letter, digit or '_'",
    SECRET_KEY_PATTERN: "must be a Secret key: letters, digits, '-', '_' or '.'",
}
_TYPES = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
          "string_type": "a string", "dict_type": "a mapping", "list_type": "a list",
          "model_type": "a mapping", "literal_error": None}
_PATH_PART = 64  # characters of a user's key shown in a path


def problem(document: dict[str, Any], error: Any) -> Problem:
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
    if kind == "string_pattern_mismatch":
        return Problem(path, _PATTERN_RULES.get(error["ctx"]["pattern"], error["msg"]), value)
    if _TYPES.get(kind):
        return Problem(path, _type_message(kind, value), value)
    return Problem(path, error["msg"], value)


def _type_message(kind: str, value: Any) -> str:
    """Strict types, said plainly: a quoted number is a string, ``true`` is not 1."""
    message = f"must be {_TYPES[kind]}"
    if isinstance(value, str) and kind in ("int_type", "float_type", "bool_type"):
        return message + ", not a string (write it without quotes)"
    if isinstance(value, bool):
        return message + ", not a boolean"
    if isinstance(value, float) and kind == "int_type":
        return message + ", not a fraction"
    return message


def _tag_problem(path: str, error: Any, value: Any) -> Problem:
    """A discriminated union (scheduler, searcher, parameter): the user's ``type`` is the field."""
    tags = _union_tags(error["loc"])
    expected = f"; expected one of: {', '.join(tags)}" if tags else ""
    if error["type"] == "union_tag_not_found":
        return Problem(f"{path}.type", f"is required{expected}")
    tag = value.get("type") if isinstance(value, dict) else error["ctx"]["tag"]
    what = path.rsplit(".", 1)[-1] if path.endswith((".scheduler", ".searcher")) \
        else "parameter type"
    message = f"unknown {what} {quote(tag)}{expected}"
    close = difflib.get_close_matches(str(tag)[:100], tags, n=1)
    return Problem(f"{path}.type", message + (f" (did you mean {close[0]}?)" if close else ""))


def _unknown_field(loc: tuple[Any, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "is not a known field (check the spelling)"
    known = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1])[:100], known, n=1)
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
    """A dotted path through the raw document, skipping pydantic's union-tag steps; a key the
    user wrote is cut short. A dict key's own error (``[key]``) is shown at the key."""
    parts: list[str] = []
    node: Any = document
    previous: Any = None
    for step in loc:
        if step == "[key]":
            node = previous
            continue
        if isinstance(node, dict) and step not in node and node.get("type") == step:
            continue  # discriminated union: pydantic names the variant, the user never wrote it
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1]}[{step}]"] if parts else [f"[{step}]"]
        else:
            text = str(step)
            parts.append(text if len(text) <= _PATH_PART else text[:_PATH_PART - 1] + "…")
        previous = step
        node = node.get(step) if isinstance(node, dict) else (
            node[step] if isinstance(node, list) and isinstance(step, int) and step < len(node)
            else None)
    return ".".join(parts), node
