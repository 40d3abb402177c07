"""Kubernetes-flavoured CEL for tests, on cel-expr-python (cel-cpp): the environment Kubernetes gives
admission policies and CRD validation rules, as far as the library lets us rebuild it.

- Extensions Kubernetes enables: optional values (`obj.?field.orValue(x)`) and the string library.
- `authorizer`: Kubernetes' authorizer library, rebuilt as member functions over plain maps
  (`authorizer.group(g).resource(r).subresource(s).namespace(n).name(n).check(verb).allowed()`),
  whose `check` calls a test-provided function (user, groups, attributes, verb) -> bool. The library
  cannot carry opaque Python objects as CEL values, so each step is a map of the attributes so far.
- `quantity(string)` and `Quantity.compareTo/isGreaterThan/isLessThan`, Kubernetes' quantity library,
  rebuilt over `kubernetes.utils.parse_quantity` (exact Decimal) with the quantity kept as a map.

The expressions under test are never rewritten: they are compiled exactly as they appear in the YAML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings
from kubernetes.utils.quantity import parse_quantity

MAP = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
Check = Callable[[str, list[str], dict[str, str], str], bool]


class CelEvaluationError(RuntimeError):
    """An expression failed at run time (Kubernetes turns this into the failurePolicy's verdict)."""


def _member(name: str, overload: str, result: Any, params: list[Any], impl: Callable[..., Any]) -> Any:
    return cel.FunctionDecl(name, [cel.Overload(overload, result, params, is_member=True, impl=impl)])


def authorizer_functions(check: Check) -> list[Any]:
    """The authorizer library's chain: each step returns the attributes gathered so far."""

    def step(field: str) -> Callable[[dict[str, Any], str], dict[str, Any]]:
        def impl(target: dict[str, Any], value: str) -> dict[str, Any]:
            return {**target, field: value}

        return impl

    def run_check(target: dict[str, Any], verb: str) -> dict[str, Any]:
        attributes = {k: str(v) for k, v in target.items() if k not in ("user", "groups")}
        allowed = check(str(target["user"]), list(target.get("groups") or []), attributes, verb)
        return {"allowed": allowed, "reason": "" if allowed else "no RBAC rule allows it"}

    return [
        _member("group", "authz_group", MAP, [MAP, cel.Type.STRING], step("group")),
        _member("resource", "authz_resource", MAP, [MAP, cel.Type.STRING], step("resource")),
        _member("subresource", "authz_subresource", MAP, [MAP, cel.Type.STRING], step("subresource")),
        _member("namespace", "authz_namespace", MAP, [MAP, cel.Type.STRING], step("namespace")),
        _member("name", "authz_name", MAP, [MAP, cel.Type.STRING], step("name")),
        _member("check", "authz_check", MAP, [MAP, cel.Type.STRING], run_check),
        _member("allowed", "decision_allowed", cel.Type.BOOL, [MAP], lambda d: bool(d["allowed"])),
        _member("reason", "decision_reason", cel.Type.STRING, [MAP], lambda d: str(d["reason"])),
    ]


def _amount(q: Mapping[str, Any]) -> Any:
    return parse_quantity(str(q["quantity"]))


def _compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    x, y = _amount(a), _amount(b)
    return (x > y) - (x < y)


def quantity_functions() -> list[Any]:
    """Kubernetes' quantity library (the part the project's rules use)."""
    return [
        cel.FunctionDecl(
            "quantity",
            [
                cel.Overload(
                    "quantity_string", MAP, [cel.Type.STRING], impl=lambda s: {"quantity": _checked(s)}
                )
            ],
        ),
        _member("compareTo", "quantity_compareTo", cel.Type.INT, [MAP, MAP], _compare),
        _member(
            "isGreaterThan",
            "quantity_isGreaterThan",
            cel.Type.BOOL,
            [MAP, MAP],
            lambda a, b: _compare(a, b) > 0,
        ),
        _member(
            "isLessThan", "quantity_isLessThan", cel.Type.BOOL, [MAP, MAP], lambda a, b: _compare(a, b) < 0
        ),
    ]


def _checked(text: str) -> str:
    parse_quantity(text)  # raises on a malformed quantity, as Kubernetes' quantity() does
    return text


def new_env(variables: list[str], functions: list[Any] | None = None) -> Any:
    """A CEL environment with dynamically typed `variables` and Kubernetes' extensions."""
    return cel.NewEnv(
        variables=dict.fromkeys(variables, cel.Type.DYN),
        extensions=[ext_optional.ExtOptional(), ext_strings.ExtStrings()],
        functions=functions or [],
    )


def evaluate(env: Any, expression: str, data: dict[str, Any]) -> Any:
    """Compile (type-check) and evaluate one expression as written; plain Python result."""
    compiled = env.compile(expression)
    try:
        result = compiled.eval(data=data)
    except Exception as exc:  # the binding raises a plain RuntimeError/ValueError on an eval error
        raise CelEvaluationError(f"{expression!r}: {exc}") from exc
    value = result.plain_value() if hasattr(result, "plain_value") else result.value()
    if result.type() == cel.Type.ERROR:
        raise CelEvaluationError(f"{expression!r}: {value}")
    return value
