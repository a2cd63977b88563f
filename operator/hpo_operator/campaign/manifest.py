"""Reading HPOCampaign manifests: YAML in, a validated :class:`Campaign` or every problem out.

A manifest is hostile until validated. The loader reads YAML as kubectl does (YAML 1.2 numbers:
``1e-4`` is a float) and refuses, before building anything, a file or document beyond the bounds
of :mod:`.spec.bounds`: an alias bomb is a few lines that expand to billions of values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .problems import problem
from .rules import Problem, check_spec
from .spec import API_VERSION, KIND, Campaign, bounds

MAX_PROBLEMS_LISTED = 50


class _Refused(ValueError):
    """A document beyond the loader's bounds, refused before it is built."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with YAML 1.2's floats (``1e-4``, which YAML 1.1 reads as a string),
    that refuses to compose a document nested deeper than the bound (its composer recurses)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > bounds.MAX_DOCUMENT_DEPTH:
                raise _Refused(f"the document nests deeper than {bounds.MAX_DOCUMENT_DEPTH} "
                               "levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


class ManifestError(Exception):
    """A manifest that must not run; ``problems`` lists each one with its field path."""

    def __init__(self, problems: list[Problem], source: str = "manifest") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem(s)):\n{lines}")

    def lines(self) -> list[str]:
        """One ``source: path: problem`` line each (the first 50); a problem with the whole file
        names it once."""
        shown = [str(p) if p.path == self.source else f"{self.source}: {p}"
                 for p in self.problems[:MAX_PROBLEMS_LISTED]]
        more = len(self.problems) - MAX_PROBLEMS_LISTED
        return shown + ([f"{self.source}: ... and {more} more problem(s)"] if more > 0 else [])


def load_manifest(path: str | Path) -> Campaign:
    """Parse and validate the single HPOCampaign document in ``path``."""
    source = str(path)  # as the user spelled it, for messages
    try:
        with open(path, "rb") as handle:
            data = handle.read(bounds.MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ManifestError([Problem(source, f"cannot read the file: {exc.strerror}")],
                            source) from None
    if len(data) > bounds.MAX_MANIFEST_BYTES:
        raise ManifestError([Problem(source, f"is larger than {bounds.MAX_MANIFEST_BYTES // 2**20}"
                                             " MiB, far beyond any valid manifest")], source)
    try:
        docs = [d for d in _documents(data.decode()) if d is not None]
    except _Refused as exc:
        raise ManifestError([Problem(source, str(exc))], source) from None
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: a constructor's refusal, e.g. an integer of more than 4300 digits
        raise ManifestError([Problem(source, _yaml_problem(exc))], source) from None
    campaigns = [d for d in docs if isinstance(d, dict) and d.get("kind") == KIND]
    if len(campaigns) != 1:
        raise ManifestError([_kind_problem(source, docs, len(campaigns))], source)
    return parse_campaign(campaigns[0], source=source)


def _documents(text: str) -> list[Any]:
    """The documents of a YAML stream; each refused before it is built if its aliases expand it
    beyond the bounds (values or depth), or if it refers to itself."""
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            problem = _expansion_problem(node)
            if problem:
                raise _Refused(problem)
            documents.append(loader.construct_document(node))
        return documents
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expansion_problem(root: yaml.Node) -> str | None:
    """Why the document at ``root`` is too big once its aliases are expanded, or None. Each
    distinct node is counted once (aliases share nodes), so this takes time in the text's size."""
    expanded: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) when expanded
    stack, open_nodes = [(root, iter(_children(root)))], {id(root)}
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            open_nodes.discard(id(node))
            sizes = [expanded[id(c)] for c in _children(node)]
            values = 1 + sum(v for v, _ in sizes)
            depth = 1 + max((d for _, d in sizes), default=0)
            if values > bounds.MAX_DOCUMENT_VALUES:
                return (f"the document expands to more than {bounds.MAX_DOCUMENT_VALUES} values "
                        "(each alias counting as a copy of its anchor): refused before it is "
                        "built")
            if depth > bounds.MAX_DOCUMENT_DEPTH:
                return f"the document nests deeper than {bounds.MAX_DOCUMENT_DEPTH} levels"
            expanded[id(node)] = (values, depth)
        elif id(child) in open_nodes:
            return "the document refers to itself (a recursive alias)"
        elif id(child) not in expanded:
            open_nodes.add(id(child))
            stack.append((child, iter(_children(child))))
    return None


def _yaml_problem(exc: Exception) -> str:
    """PyYAML's message without its ``in "<unicode string>"`` lines, marks 1-based."""
    if isinstance(exc, RecursionError):
        return f"not valid YAML: nested deeper than {bounds.MAX_DOCUMENT_DEPTH} levels"
    if isinstance(exc, UnicodeDecodeError):
        return "not a text file (not UTF-8)"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "not valid YAML: an integer of more than 4300 digits"
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
        # By alias only: `max_t` is not `maxT` in a manifest (the CRD would not know it).
        campaign = Campaign.model_validate(document, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise ManifestError([problem(document, e) for e in exc.errors()], source) from None
    except RecursionError:
        raise ManifestError([Problem(source, "is nested too deeply to validate")],
                            source) from None
    problems = check_spec(campaign.spec)
    if problems:
        raise ManifestError(problems, source)
    return campaign
