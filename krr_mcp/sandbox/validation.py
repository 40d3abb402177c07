"""Structural-schema handling of custom resources against a CRD's openAPIV3Schema, as the API server
does: defaults (`apply_defaults`), pruning of unknown fields, and the common constraints (type, required,
enum, pattern, min/max, lengths, items, nullable). CEL rules (x-kubernetes-validations) are in
celrules.py.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_METADATA_ROOT = frozenset({"apiVersion", "kind", "metadata"})
_TYPE_ERRORS = ("must be of type", "must be an integer or a string", "must not be null")
CEL_BLOCKED = (
    "<nil>: Invalid value: null: some validation rules were not checked because the object was "
    "invalid; correct the existing errors to complete validation"
)


def json_type(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value, as kube-apiserver names a wrong one."""
    if isinstance(value, bool):
        return "boolean"
    for name, kinds in (("integer", (int,)), ("number", (float,)), ("string", (str,))):
        if isinstance(value, kinds):
            return name
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "null"


def is_type_error(error: str) -> bool:
    """Whether a `check` error is a wrong type (which keeps the API server from running CEL rules)."""
    return any(marker in error for marker in _TYPE_ERRORS)


def _type_ok(value: Any, type_: str) -> bool:
    if type_ in ("integer", "number") and isinstance(value, bool):
        return False
    expected = _TYPES.get(type_)
    return expected is None or isinstance(value, expected)


def _matches(pattern: str, value: str) -> bool:
    """RE2/ECMA patterns mostly read the same in Python; one that does not compile is not enforced."""
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True


def apply_defaults(value: Any, schema: dict[str, Any]) -> None:
    """Fill in schema `default`s in place, as the API server does when it reads a request: a property
    that is absent (or null where the schema is not nullable) gets a copy of its default; defaults then
    apply inside it and inside every present object, map value and array item. An absent object gets no
    defaults (only a present parent's properties are defaulted)."""
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties") or {}
        for key, prop in props.items():
            if not isinstance(prop, dict) or "default" not in prop:
                continue
            if key not in value or (value[key] is None and not prop.get("nullable")):
                value[key] = copy.deepcopy(prop["default"])
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            if isinstance(props.get(key), dict):
                apply_defaults(child, props[key])
            elif key not in props and isinstance(additional, dict):
                apply_defaults(child, additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def _int_or_string(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-int-or-string"))


def check(
    value: Any, schema: dict[str, Any], path: str, errors: list[str], unknown: list[str], root: bool = False
) -> Any:
    """Validate `value`; return it with unknown fields pruned. Problems go to `errors`, pruned field
    paths to `unknown`."""
    if value is None:
        if schema.get("nullable"):
            return None
        errors.append(f'{path or "<root>"}: Invalid value: "null": must not be null')
        return None
    type_ = schema.get("type")
    if _int_or_string(schema):
        if not isinstance(value, int | str) or isinstance(value, bool):
            errors.append(f"{path}: Invalid value: must be an integer or a string")
        return value
    if type_ and not _type_ok(value, type_):
        given = json_type(value)
        errors.append(f'{path}: Invalid value: "{given}": {path} in body must be of type {type_}: "{given}"')
        return value
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{e}"' for e in schema["enum"])
        errors.append(f'{path}: Unsupported value: "{value}": supported values: {allowed}')
    if isinstance(value, str):
        if "pattern" in schema and not _matches(schema["pattern"], value):
            errors.append(
                f"{path}: Invalid value: \"{value}\": {path} in body should match '{schema['pattern']}'"
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: Too long: may not be more than {schema['maxLength']} bytes")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: Invalid value: should be at least {schema['minLength']} chars long")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: Invalid value: {value}: {path} in body should be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: Invalid value: {value}: {path} in body should be <= {schema['maximum']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: Too many: {len(value)}: must have at most {schema['maxItems']} items")
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: Invalid value: should have at least {schema['minItems']} items")
        items = schema.get("items")
        if isinstance(items, dict):
            return [check(v, items, f"{path}[{n}]", errors, unknown) for n, v in enumerate(value)]
        return value
    if isinstance(value, dict):
        return _check_object(value, schema, path, errors, unknown, root)
    return value


def _check_object(
    value: dict[str, Any],
    schema: dict[str, Any],
    path: str,
    errors: list[str],
    unknown: list[str],
    root: bool,
) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{path + '.' if path else ''}{name}: Required value")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(f"{path}: Too many: must have at most {schema['maxProperties']} items")
    out: dict[str, Any] = {}
    for key, child in value.items():
        child_path = f"{path}.{key}" if path else key
        if root and key in _METADATA_ROOT:
            out[key] = child
        elif key in props:
            out[key] = check(child, props[key], child_path, errors, unknown)
        elif isinstance(additional, dict):
            out[key] = check(child, additional, child_path, errors, unknown)
        elif (
            additional is True
            or preserve
            or (not props and not additional and schema.get("type") != "object")
        ):
            out[key] = child
        else:
            unknown.append(child_path)
    return out


def validate_custom(
    obj: dict[str, Any], schema: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(pruned object, errors, pruned field paths) for a custom resource."""
    if not schema:
        return obj, [], []
    errors: list[str] = []
    unknown: list[str] = []
    pruned = check(obj, schema, "", errors, unknown, root=True)
    return pruned, errors, unknown
