"""Turn the pydantic API models into apiextensions.k8s.io/v1 CustomResourceDefinitions.

The CRD's `openAPIV3Schema` must be *structural* or a real API server refuses it: every node typed, no
`$ref`, no `anyOf` with null, no `title`/`const`, no `additionalProperties` beside `properties`.
`crd_for(...)` converts pydantic's JSON schema into that form and `structural_problems(...)` checks the
result, so a model change that cannot become a CRD fails at generation time, not at `kubectl apply`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

GENERATED_HEADER = (
    "# Generated from the pydantic models in krr_mcp/api by `krr-mcp crds generate`. Do not edit.\n"
)

# JSON-schema keys a CRD schema (JSONSchemaProps) accepts; anything else is dropped or refused.
_ALLOWED_KEYS = {
    "type",
    "format",
    "description",
    "default",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "required",
    "items",
    "properties",
    "additionalProperties",
    "nullable",
    "x-kubernetes-validations",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
}
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_DROPPED_KEYS = {"title", "$defs", "$schema", "examples"}


class CRDGenerationError(ValueError):
    """The model cannot be expressed as a structural CRD schema; the message names the path."""


@dataclass(frozen=True)
class CRDModel:
    """A top-level API model and the names under which it is served."""

    model: type[BaseModel]
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    status_subresource: bool = True

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def filename(self) -> str:
        return f"{self.crd_name}.yaml"


def _resolve(schema: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    """Inline `$ref`s (merging sibling keys such as description or validations), recursively."""
    node = dict(schema)
    ref = node.pop("$ref", None)
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name not in defs:
            raise CRDGenerationError(f"{path}: unknown $ref {ref}")
        target = copy.deepcopy(defs[name])
        siblings = node
        node = {**target, **{k: v for k, v in siblings.items() if k != "x-kubernetes-validations"}}
        rules = list(target.get("x-kubernetes-validations", [])) + list(
            siblings.get("x-kubernetes-validations", [])
        )
        node["x-kubernetes-validations"] = rules
    return node


def _collapse_nullable(node: dict[str, Any], path: str) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` (pydantic's Optional) becomes X; the field is simply optional."""
    for key in ("anyOf", "oneOf"):
        if key not in node:
            continue
        options = [o for o in node[key] if o != {"type": "null"}]
        if len(options) != 1:
            raise CRDGenerationError(f"{path}: a union of several types is not a structural schema")
        rest = {k: v for k, v in node.items() if k != key}
        if rest.get("default", "absent") is None:
            del rest["default"]
        node = {**options[0], **rest}
    return node


def _convert(schema: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    node = _resolve(schema, defs, path)
    node = _collapse_nullable(node, path)
    node = _resolve(node, defs, path)  # an Optional[$ref] resolves only after the collapse
    if "const" in node:
        node["enum"] = [node.pop("const")]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key not in _ALLOWED_KEYS:
            raise CRDGenerationError(f"{path}: JSON-schema keyword {key!r} has no CRD equivalent")
        if key == "properties":
            out[key] = {name: _convert(sub, defs, f"{path}.{name}") for name, sub in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs, f"{path}[]")
        elif key == "additionalProperties":
            if isinstance(value, dict):
                out[key] = _convert(value, defs, f"{path}{{}}")
            # `false` (extra="forbid") is the CRD default via pruning; `true` needs preserve-unknown-fields.
        elif key == "x-kubernetes-validations":
            if value:
                out[key] = [{"rule": r["rule"], "message": r["message"]} for r in value]
        elif key == "required":
            if value:
                out[key] = list(value)
        else:
            out[key] = value
    if out.get("x-kubernetes-preserve-unknown-fields") and node.get("additionalProperties") is True:
        out.pop("additionalProperties", None)
    if out.get("type") == "object" and node.get("additionalProperties") is True and "properties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def structural_problems(schema: dict[str, Any], path: str = "") -> list[str]:
    """Why `schema` is not a structural schema (empty when it is), one message per offending node."""
    problems: list[str] = []
    where = path or "<root>"
    untyped_ok = any(schema.get(k) for k in (_PRESERVE, "x-kubernetes-int-or-string"))
    if "type" not in schema and not untyped_ok:
        problems.append(f"{where}: no type")
    for bad in ("$ref", "anyOf", "oneOf", "allOf", "not", "title", "const"):
        if bad in schema:
            problems.append(f"{where}: has {bad}")
    if "properties" in schema and "additionalProperties" in schema:
        problems.append(f"{where}: properties and additionalProperties together")
    if schema.get("additionalProperties") is False:
        problems.append(f"{where}: additionalProperties: false")
    if schema.get("type") == "array" and "items" not in schema:
        problems.append(f"{where}: array without items")
    for name in schema.get("required", []):
        if name not in schema.get("properties", {}):
            problems.append(f"{where}: required {name!r} is not a property")
    for name, sub in schema.get("properties", {}).items():
        problems.extend(structural_problems(sub, f"{path}.{name}"))
    if isinstance(schema.get("items"), dict):
        problems.extend(structural_problems(schema["items"], f"{path}[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        problems.extend(structural_problems(schema["additionalProperties"], f"{path}{{}}"))
    return problems


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema as a CRD `openAPIV3Schema` (apiVersion/kind/metadata left to the API server)."""
    raw = model.model_json_schema(mode="validation")
    defs = raw.get("$defs", {})
    schema = _convert(raw, defs, "")
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": "The versioned schema of this object."}
    props["kind"] = {"type": "string", "description": "The REST resource this object represents."}
    props["metadata"] = {"type": "object"}
    schema["required"] = [
        name for name in schema.get("required", []) if name not in ("apiVersion", "kind", "metadata")
    ]
    if not schema["required"]:
        del schema["required"]
    problems = structural_problems(schema)
    if problems:
        raise CRDGenerationError("not a structural schema:\n  " + "\n  ".join(problems))
    return schema


def crd_for(info: CRDModel) -> dict[str, Any]:
    """The complete CustomResourceDefinition for one registered model."""
    names: dict[str, Any] = {"kind": info.kind, "listKind": f"{info.kind}List", "plural": info.plural}
    names["singular"] = info.singular
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    if info.categories:
        names["categories"] = list(info.categories)
    version: dict[str, Any] = {
        "name": info.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": openapi_schema(info.model)},
    }
    if info.status_subresource:
        version["subresources"] = {"status": {}}
    if info.printer_columns:
        version["additionalPrinterColumns"] = [dict(c) for c in info.printer_columns]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name, "labels": {"app.kubernetes.io/part-of": "krr-mcp"}},
        "spec": {"group": info.group, "names": names, "scope": info.scope, "versions": [version]},
    }


def render(info: CRDModel) -> str:
    """The CRD as the YAML text committed under crds/."""
    # ASCII only: a pattern's invisible characters are written as YAML escapes, never raw.
    body = yaml.safe_dump(crd_for(info), sort_keys=False, width=120, allow_unicode=False)
    return GENERATED_HEADER + body


def generate(models: list[CRDModel], directory: Path) -> dict[Path, str]:
    """The files crds/ should contain: path -> text."""
    return {directory / info.filename: render(info) for info in models}


def drift(models: list[CRDModel], directory: Path) -> list[str]:
    """Files under `directory` that differ from (or are missing versus) what the models generate."""
    stale: list[str] = []
    for path, text in generate(models, directory).items():
        if not path.exists():
            stale.append(f"{path}: missing")
        elif path.read_text() != text:
            stale.append(f"{path}: differs from the model")
    return stale
