"""The HPOCampaign CustomResourceDefinition, generated from the pydantic spec model.

``python -m hpo_operator.kuberay.crd > crds/hpocampaigns.hpo.dev.yaml`` writes it; a test fails when
the committed file drifts from the model. Kubernetes wants a *structural* OpenAPI v3 schema (no
``$ref``, no ``anyOf`` of types, a type on every node), so pydantic's JSON schema is rewritten:
references are inlined, optional fields lose their ``null`` branch, and each discriminated union
(search-space parameters, scheduler, searcher) becomes one object whose ``type`` is an enum, whose
properties are the union of the variants', and whose per-variant requirements and cross-field
checks become ``x-kubernetes-validations`` CEL rules. Defaults stay in pydantic (one source).
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from ..campaign import api
from ..campaign.spec import CampaignSpec, Metadata, bounds
from ..campaign.spec.units import DURATION_PATTERN
from ..campaign.status import CampaignStatus

Schema = dict[str, Any]

# Fields whose accepted input is wider than their parsed Python type. Bounds on an int-or-string
# apply to the form they concern (maximum to an integer, pattern and maxLength to a string).
_OVERRIDES: dict[str, Schema] = {
    "spec.budget.timeLimit": {"x-kubernetes-int-or-string": True,
                              "description": "Wall-clock limit for the campaign: seconds, or a "
                                             "duration such as '30m', '8h' or '1h30m'.",
                              "minimum": 1, "maximum": bounds.MAX_TIME_LIMIT_SECONDS,
                              "maxLength": bounds.MAX_DURATION_TEXT,
                              "pattern": DURATION_PATTERN},
    **{f"spec.runtime.{name}": {"x-kubernetes-int-or-string": True, "description": description,
                                "minimum": 1, "maximum": bounds.MAX_TIME_LIMIT_SECONDS,
                                "maxLength": bounds.MAX_DURATION_TEXT, "pattern": DURATION_PATTERN}
       for name, description in (
           ("trialPendingSeconds", "Condition TrialsPending once a trial has waited this long to "
                                   "start: seconds, or a duration such as '10m'."),
           ("trialStallMinSeconds", "The least silence that TrialStalled calls a stall: "
                                    "seconds, or a duration such as '5m'."))},
}
_SCALAR_KEYS = ("type", "enum", "minimum", "maximum", "pattern", "minLength", "maxLength",
                "minItems", "maxItems", "minProperties", "maxProperties", "format")


class _Converter:
    def __init__(self, schema: Schema) -> None:
        self.defs: dict[str, Schema] = schema.get("$defs", {})

    def resolve(self, node: Schema) -> Schema:
        while "$ref" in node:
            target = self.defs[node["$ref"].rsplit("/", 1)[-1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def convert(self, node: Schema, path: str) -> Schema:
        if path in _OVERRIDES:
            return dict(_OVERRIDES[path])
        node = self.resolve(node)
        doc = {"description": node["description"]} if node.get("description") else {}
        if "oneOf" in node:
            return {**doc, **self.union([self.resolve(v) for v in node["oneOf"]], path)}
        if "anyOf" in node:
            branches = [b for b in node["anyOf"] if b.get("type") != "null"]
            if len(branches) == 1:
                return {**self.convert(branches[0], path), **doc}
            # A scalar of several types (a choice value): allowed as is, checked by the model.
            return {**doc, "x-kubernetes-preserve-unknown-fields": True}
        out: Schema = dict(doc)
        for key in _SCALAR_KEYS:
            if key in node:
                out[key] = node[key]
        if not ({"type", "properties", "const", "enum"} & node.keys()):
            # typed Any: a free value (its bounds, if any, apply to the form they concern)
            return {**out, "x-kubernetes-preserve-unknown-fields": True}
        if "const" in node:
            out["enum"] = [node["const"]]
        for bound in ("Minimum", "Maximum"):  # JSON Schema 2020 number -> OpenAPI 3.0 boolean
            if f"exclusive{bound}" in node:
                out[bound.lower()], out[f"exclusive{bound}"] = node[f"exclusive{bound}"], True
        if node.get("type") == "array":
            out["items"] = self.convert(node.get("items", {}), path + "[]")
        if node.get("type") == "object" or "properties" in node:
            out["type"] = "object"
            out.update(self.object(node, path))
        return out

    def object(self, node: Schema, path: str) -> Schema:
        out: Schema = {}
        extra = node.get("additionalProperties")
        if "patternProperties" in node:  # a map with constrained keys: the model checks them
            [extra] = node["patternProperties"].values()
        if "properties" in node:
            out["properties"] = {k: self.convert(v, f"{path}.{k}")
                                 for k, v in node["properties"].items()}
            if node.get("required"):
                out["required"] = list(node["required"])
            if extra is True:  # a model that keeps unknown keys
                out["x-kubernetes-preserve-unknown-fields"] = True
        elif isinstance(extra, dict) and extra:
            out["additionalProperties"] = self.convert(extra, path + ".*")
        else:  # a free-form map such as trainable.config
            out["x-kubernetes-preserve-unknown-fields"] = True
        key_length = node.get("propertyNames", {}).get("maxLength")
        # CRDs have no propertyNames, so a size() rule (cheap) bounds the keys where CEL sees
        # the map: its values have a type (CEL ignores values without a schema).
        if key_length is not None and out.get("additionalProperties", {}).get("type"):
            out["x-kubernetes-validations"] = [{
                "rule": f"self.all(k, k.size() <= {key_length})",
                "message": f"keys have at most {key_length} characters"}]
        return out

    def union(self, variants: list[Schema], path: str) -> Schema:
        """One object for a discriminated union: ``type`` enum + every variant's properties."""
        tags = [v["properties"]["type"]["const"] for v in variants]
        properties: dict[str, Schema] = {}
        for variant in variants:
            for key, prop in variant["properties"].items():
                if key == "type":
                    continue
                converted = self.convert(prop, f"{path}.{key}")
                if key in properties and properties[key].get("type") != converted.get("type"):
                    converted["type"] = "number"  # int in one variant, float in another
                properties.setdefault(key, converted)
                if converted.get("type") == "number":
                    properties[key]["type"] = "number"
        lines = [f"{t}: {v['description']}" for t, v in zip(tags, variants) if v.get("description")]
        out: Schema = {"type": "object"}
        if lines:
            out["description"] = " ".join(lines)
        out["properties"] = {"type": {"type": "string", "enum": tags}, **properties}
        out["required"] = ["type"]
        rules = _variant_rules(variants) + _cross_field_rules(properties)
        if rules:
            out["x-kubernetes-validations"] = rules
        return out


def _variant_rules(variants: list[Schema]) -> list[Schema]:
    rules = []
    for variant in variants:
        tag = variant["properties"]["type"]["const"]
        needed = [k for k in variant.get("required", []) if k != "type"]
        if needed:
            has = " && ".join(f"has(self.{k})" for k in needed)
            rules.append({"rule": f"self.type != '{tag}' || ({has})",
                          "message": f"type {tag} needs {', '.join(needed)}"})
    return rules


def _cross_field_rules(properties: dict[str, Schema]) -> list[Schema]:
    """The checks of the model validators that CEL can express on one object."""
    rules = []
    if {"min", "max"} <= properties.keys():
        rules.append({"rule": "!has(self.min) || !has(self.max) || self.min < self.max",
                      "message": "min must be less than max"})
    if {"min", "log"} <= properties.keys():
        rules.append({"rule": "!has(self.log) || !self.log || !has(self.min) || self.min > 0.0",
                      "message": "a log range needs min > 0"})
    if "values" in properties:
        rules.append({"rule": "!has(self.values) || size(self.values) > 0",
                      "message": "a choice needs at least one value"})
    if {"gracePeriod", "maxT"} <= properties.keys():
        # gracePeriod is a number (median stopping's is in seconds by default), maxT an integer.
        rules.append({"rule": "!has(self.gracePeriod) || !has(self.maxT) || "
                              "double(self.gracePeriod) <= double(self.maxT)",
                      "message": "gracePeriod must not exceed maxT"})
    return rules


def _name_rules() -> list[Schema]:
    name = Metadata.model_json_schema()["properties"]["name"]
    return [
        {"rule": f"self.metadata.name.size() <= {name['maxLength']}",
         "message": f"a campaign name has at most {name['maxLength']} characters (its RayJob "
                    "and Ray pods derive their names from it)"},
        {"rule": f"self.metadata.name.matches('{name['pattern']}')",
         "message": "a campaign name is a DNS-1035 label: lower-case letters, digits and "
                    "'-', starting with a letter"},
    ]


def _spec_change_rule() -> Schema:
    """A transition rule (updates only): the Tune experiment is built from the spec once, so a
    changed spec would be silently ignored. Only a rejected campaign may be corrected in place."""
    return {
        "rule": "self.spec == oldSelf.spec || (has(oldSelf.status) && has(oldSelf.status.phase) "
                "&& oldSelf.status.phase == 'ValidationFailed')",
        "message": "spec cannot change once a campaign is accepted (its Ray Tune experiment was "
                   "built from it): delete and re-create the campaign, or create a new one",
    }


def _columns() -> list[Schema]:
    return [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Metric", "type": "string", "jsonPath": ".status.metric", "priority": 1},
        {"name": "Best", "type": "number", "jsonPath": ".status.bestTrial.metric"},
        {"name": "Completed", "type": "integer", "jsonPath": ".status.trials.completed"},
        {"name": "Total", "type": "integer", "jsonPath": ".status.trials.total"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def build_crd() -> dict[str, Any]:
    spec_schema = CampaignSpec.model_json_schema(by_alias=True, mode="validation")
    status_schema = CampaignStatus.model_json_schema(by_alias=True, mode="serialization")
    root: Schema = {
        "type": "object",
        "description": "A hyperparameter optimisation campaign run as a Ray Tune experiment.",
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": _Converter(spec_schema).convert(spec_schema, "spec"),
            "status": _Converter(status_schema).convert(status_schema, "status"),
        },
        "required": ["spec"],
        "x-kubernetes-validations": [*_name_rules(), _spec_change_rule()],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{api.PLURAL}.{api.GROUP}",
                     "labels": {"app.kubernetes.io/part-of": "hpo-operator"}},
        "spec": {
            "group": api.GROUP,
            "names": {"kind": api.KIND, "listKind": api.LIST_KIND,
                      "plural": api.PLURAL, "singular": api.SINGULAR,
                      "shortNames": [api.SHORT_NAME], "categories": ["hpo"]},
            "scope": "Namespaced",
            "versions": [{"name": api.VERSION, "served": True, "storage": True,
                          "subresources": {"status": {}},
                          "additionalPrinterColumns": _columns(),
                          "schema": {"openAPIV3Schema": root}}],
        },
    }


def render() -> str:
    header = ("# Generated from hpo_operator.campaign.spec by `python -m hpo_operator.kuberay.crd`."
              "\n# Do not edit by hand: a test fails when this file drifts from the model.\n")
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
