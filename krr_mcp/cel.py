"""Kubernetes-flavoured CEL on cel-expr-python (cel-cpp): the environment Kubernetes gives admission
policies and CRD validation rules, as far as the library lets us rebuild it. The sandbox evaluates CRD
`x-kubernetes-validations` with it (krr_mcp/sandbox/celrules.py); the admission tests run
ValidatingAdmissionPolicies with it.

- Extensions Kubernetes enables: optional values (`obj.?field.orValue(x)`) and the string library.
- `authorizer`: Kubernetes' authorizer library, rebuilt as member functions over plain maps
  (`authorizer.group(g).resource(r).subresource(s).namespace(n).name(n).check(verb).allowed()`),
  whose `check` calls a caller-provided function (user, groups, attributes, verb) -> bool. The library
  cannot carry opaque Python objects as CEL values, so each step is a map of the attributes so far.
- `request` typed as the API server declares it (a message with typed fields), so an expression that
  would not type-check there (say `cond ? request.userInfo.username : null`) fails here too.
- `quantity(string)` and `Quantity.compareTo/isGreaterThan/isLessThan`, Kubernetes' quantity library,
  rebuilt over `kubernetes.utils.parse_quantity` (exact Decimal) with the quantity kept as a map.

Expressions are never rewritten: they are compiled exactly as they appear in the YAML. Not rebuilt:
Kubernetes' lists, regex, url, ip/cidr and format libraries, the quantity arithmetic (add, sub, asInteger,
...), cost budgets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
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


ADMISSION_REQUEST = "kubernetes.AdmissionRequest"


def _admission_pool() -> descriptor_pool.DescriptorPool:
    """Protobuf descriptors shaped like the `request` the API server declares to admission CEL (its
    fields typed, camelCase names), so expressions type-check against strings, bools and lists."""
    fdp = descriptor_pb2.FileDescriptorProto(name="krr_mcp_admission.proto", package="kubernetes")
    fdp.syntax = "proto3"
    field = descriptor_pb2.FieldDescriptorProto
    string, boolean, message = field.TYPE_STRING, field.TYPE_BOOL, field.TYPE_MESSAGE
    one, many = field.LABEL_OPTIONAL, field.LABEL_REPEATED

    def add(name: str, fields: list[tuple[str, int, int, str]]) -> None:
        described = fdp.message_type.add(name=name)
        for number, (field_name, kind, label, type_name) in enumerate(fields, 1):
            entry = described.field.add(
                name=field_name, number=number, type=kind, label=label, json_name=field_name
            )
            if type_name:
                entry.type_name = type_name

    add("GroupVersionKind", [(n, string, one, "") for n in ("group", "version", "kind")])
    add("GroupVersionResource", [(n, string, one, "") for n in ("group", "version", "resource")])
    add("UserInfo", [("username", string, one, ""), ("uid", string, one, ""), ("groups", string, many, "")])
    gvk, gvr = ".kubernetes.GroupVersionKind", ".kubernetes.GroupVersionResource"
    add(
        "AdmissionRequest",
        [
            ("uid", string, one, ""),
            ("kind", message, one, gvk),
            ("resource", message, one, gvr),
            ("subResource", string, one, ""),
            ("requestKind", message, one, gvk),
            ("requestResource", message, one, gvr),
            ("requestSubResource", string, one, ""),
            ("name", string, one, ""),
            ("namespace", string, one, ""),
            ("operation", string, one, ""),
            ("userInfo", message, one, ".kubernetes.UserInfo"),
            ("dryRun", boolean, one, ""),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return pool


POOL = _admission_pool()


def admission_request(request: dict[str, Any]) -> Any:
    """The typed `request` value from an AdmissionReview request dict (object/oldObject/options left out)."""
    cls = message_factory.GetMessageClass(POOL.FindMessageTypeByName(ADMISSION_REQUEST))
    return json_format.ParseDict(request, cls(), ignore_unknown_fields=True)


def new_env(
    variables: list[str], functions: list[Any] | None = None, typed: dict[str, str] | None = None
) -> Any:
    """A CEL environment with Kubernetes' extensions; `variables` are dynamically typed, except those
    `typed` maps to a message name (e.g. `request` -> ADMISSION_REQUEST)."""
    declared = {
        name: cel.Type((typed or {}).get(name)) if name in (typed or {}) else cel.Type.DYN
        for name in variables
    }
    return cel.NewEnv(
        POOL,
        variables=declared,
        extensions=[ext_optional.ExtOptional(), ext_strings.ExtStrings()],
        functions=functions or [],
    )


def evaluate(env: Any, expression: str, data: dict[str, Any]) -> Any:
    """Compile (type-check) and evaluate one expression as written; plain Python result."""
    return run(env.compile(expression), expression, data)


def run(compiled: Any, expression: str, data: dict[str, Any]) -> Any:
    """Evaluate an expression compiled by `env.compile(expression)`; plain Python result, or
    CelEvaluationError."""
    try:
        result = compiled.eval(data=data)
    except Exception as exc:  # the binding raises a plain RuntimeError/ValueError on an eval error
        raise CelEvaluationError(f"{expression!r}: {exc}") from exc
    value = result.plain_value() if hasattr(result, "plain_value") else result.value()
    if result.type() == cel.Type.ERROR:
        raise CelEvaluationError(f"{expression!r}: {value}")
    return value
