"""Structural-schema checks of custom resources against a CRD's openAPIV3Schema: pruning of unknown
fields (as the API server does), and the common constraints (type, required, enum, pattern, min/max,
lengths, items, nullable). CEL rules (x-kubernetes-validations) are not evaluated here.
"""

from __future__ import annotations

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
        errors.append(
            f'{path}: Invalid value: "{type(value).__name__}": {path} in body must be of type {type_}'
        )
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
