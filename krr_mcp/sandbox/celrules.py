"""CRD validation rules (`x-kubernetes-validations`), evaluated as the API server does.

Each rule runs at the schema node that declares it, for every place that node matches in the object
(properties, `additionalProperties` values, array items), with `self` bound to the value there. On an
update, `oldSelf` is the correlated old value: same property or map key, or the list item with the same
keys in a `x-kubernetes-list-type: map` list (other list items have no old value). Transition rules
(those naming `oldSelf`) are skipped on create and wherever the old value is absent. Validation
ratcheting (Kubernetes 1.30+): a rule without `oldSelf` is not re-checked where the value is unchanged.

Errors read like kube-apiserver 1.37's: `spec: Invalid value: <message>` for a rule on an object or a
list (the value is left out), `spec.x: Invalid value: "v": <message>` on a scalar (a rule on the root
reads `<nil>: ...`), with `fieldPath`, `reason` and `messageExpression` honoured. A rule that fails to
evaluate is a violation (`<message>: <error>`). Without cel-expr-python, `AVAILABLE` is False and no
rule is checked (the sandbox says so when it starts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

try:
    from krr_mcp import cel
except ImportError:  # cel-expr-python (a native wheel) missing: serve without CEL rules
    cel = None  # type: ignore[assignment]

AVAILABLE = cel is not None
NOT_ENFORCED = "CRD validation rules (x-kubernetes-validations) are NOT enforced: cel-expr-python is missing"
_OLD_SELF = re.compile(r"\boldSelf\b")
_MISSING_TEXT = "\0missing"
_MISSING = object()


@dataclass(frozen=True)
class Node:
    """One place a schema node matches: its path as the API server prints it, new and old values."""

    path: str
    schema: dict[str, Any]
    value: Any
    old: Any = _MISSING


class RuleEngine:
    """Compiles rules once (an environment with self, oldSelf and Kubernetes' quantity library)."""

    def __init__(self) -> None:
        self._env: Any = None
        self._compiled: dict[str, Any] = {}

    def compile(self, expression: str) -> Any:
        """The compiled expression; raises (the binding's ValueError/RuntimeError) if it does not compile."""
        if expression not in self._compiled:
            if self._env is None:
                self._env = cel.new_env(["self", "oldSelf"], cel.quantity_functions())
            self._compiled[expression] = self._env.compile(expression)
        return self._compiled[expression]

    def compile_problems(self, schema: dict[str, Any] | None, path: str) -> list[str]:
        """Errors for rules in a CRD schema that do not compile (the API server refuses such a CRD)."""
        if not AVAILABLE or not schema:
            return []
        problems = []
        for where, node in _schema_nodes(schema, path):
            for n, rule in enumerate(node.get("x-kubernetes-validations") or []):
                text = rule.get("rule") if isinstance(rule, dict) else None
                field = f"{where}.x-kubernetes-validations[{n}].rule"
                if not isinstance(text, str) or not text:
                    problems.append(f"{field}: Required value")
                    continue
                try:
                    self.compile(text)
                except Exception as exc:  # the binding reports compile errors as plain exceptions
                    problems.append(f'{field}: Invalid value: "{text}": compilation failed: {exc}')
        return problems

    def violations(self, obj: dict[str, Any], schema: dict[str, Any] | None, old: Any = None) -> list[str]:
        """Error strings for every rule `obj` breaks (`old`: the stored object on an update, else None)."""
        if not AVAILABLE or not schema:
            return []
        errors: list[str] = []
        root = Node("", schema, obj, _MISSING if old is None else old)
        for node in _walk(root):
            for rule in node.schema.get("x-kubernetes-validations") or []:
                error = self._check(rule, node)
                if error:
                    errors.append(error)
        return errors

    def _check(self, rule: dict[str, Any], node: Node) -> str | None:
        text = rule.get("rule", "")
        transition = bool(_OLD_SELF.search(text))
        if transition and node.old is _MISSING:
            return None
        if not transition and node.old is not _MISSING and node.old == node.value:
            return None  # ratcheting: an unchanged value keeps passing
        data = {"self": node.value, "oldSelf": None if node.old is _MISSING else node.old}
        message = rule.get("message") or f"failed rule: {text}"
        try:
            ok = cel.run(self.compile(text), text, data)
        except Exception as exc:  # compile or evaluation error: the rule does not pass
            return _error(
                rule, node, f"{message}: {exc}", value=json.dumps(node.schema.get("type", "object"))
            )
        if ok is True:
            return None
        return _error(rule, node, self._message(rule, data, message))

    def _message(self, rule: dict[str, Any], data: dict[str, Any], message: str) -> str:
        expression = rule.get("messageExpression")
        if not expression:
            return message
        try:
            text = cel.run(self.compile(expression), expression, data)
        except Exception:
            return message
        return text.strip() if isinstance(text, str) and text.strip() else message


def _bad_value(value: Any) -> str | None:
    """How kube-apiserver prints a rule's failing value: left out for objects and lists, quoted strings,
    plain numbers and booleans."""
    if isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _error(rule: dict[str, Any], node: Node, message: str, value: str | None = _MISSING_TEXT) -> str:
    if value == _MISSING_TEXT:
        value = _bad_value(node.value)
    shown = "" if value is None else f"{value}: "
    path = node.path
    extra = str(rule.get("fieldPath") or "").lstrip(".")
    if extra:
        path = f"{path}.{extra}" if path else extra
    path = path or "<nil>"
    reason = rule.get("reason") or "FieldValueInvalid"
    if reason == "FieldValueForbidden":
        return f"{path}: Forbidden: {message}"
    if reason == "FieldValueRequired":
        return f"{path}: Required value: {message}"
    if reason == "FieldValueDuplicate":
        return f"{path}: Duplicate value" + (f": {value}" if value is not None else "")
    return f"{path}: Invalid value: {shown}{message}"


def _walk(node: Node) -> Iterator[Node]:
    """The node and every node below it where the object has a value."""
    yield node
    schema, value, old = node.schema, node.value, node.old
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for key, child in value.items():
            child_schema = props.get(key, additional)
            if not isinstance(child_schema, dict) or (not node.path and key == "metadata"):
                continue
            path = f"{node.path}.{key}" if node.path else key
            yield from _walk(Node(path, child_schema, child, old_map.get(key, _MISSING)))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        olds = _correlated_items(schema, value, old)
        for index, item in enumerate(value):
            yield from _walk(Node(f"{node.path}[{index}]", schema["items"], item, olds[index]))


def _correlated_items(schema: dict[str, Any], value: list[Any], old: Any) -> list[Any]:
    """For each new item its old item: by key in a list-type map, none otherwise."""
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if schema.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return [_MISSING] * len(value)

    def key_of(item: Any) -> tuple[Any, ...] | None:
        return tuple(item.get(k) for k in keys) if isinstance(item, dict) else None

    by_key = {key_of(item): item for item in old if key_of(item) is not None}
    return [by_key.get(key_of(item), _MISSING) for item in value]


def _schema_nodes(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, node) for every node of a schema, paths as the API server names them in CRD errors."""
    yield path, schema
    for key, child in (schema.get("properties") or {}).items():
        if isinstance(child, dict):
            yield from _schema_nodes(child, f"{path}.properties[{key}]")
    for key in ("items", "additionalProperties"):
        child = schema.get(key)
        if isinstance(child, dict):
            yield from _schema_nodes(child, f"{path}.{key}")


RULES = RuleEngine()
