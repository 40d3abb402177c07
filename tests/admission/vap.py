"""Run a ValidatingAdmissionPolicy from its YAML against an AdmissionRequest, as the API server does:
matchConstraints, matchConditions, variables, validations (message/messageExpression), auditAnnotations.

No fake API server here runs admission (the sandbox server does not), so this evaluates the policy's
own CEL expressions, unchanged, with cel-expr-python (`object`/`oldObject` dynamic as the API server
declares them, `request` typed like its AdmissionRequest). Variables are evaluated in order before the
validations (Kubernetes evaluates them lazily; every variable here is guarded, so the order is moot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from krr_mcp.cel import (
    ADMISSION_REQUEST,
    CelEvaluationError,
    Check,
    admission_request,
    authorizer_functions,
    evaluate,
    new_env,
)

VARIABLES = ["object", "oldObject", "request", "params", "namespaceObject", "authorizer", "variables"]


@dataclass
class Verdict:
    matched: bool
    allowed: bool
    messages: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)


def _rule_matches(rule: dict[str, Any], request: dict[str, Any]) -> bool:
    resource = request["resource"]
    name = resource["resource"] + (f"/{request['subResource']}" if request.get("subResource") else "")

    def has(values: list[str], wanted: str) -> bool:
        return "*" in values or wanted in values

    return (
        has(rule.get("apiGroups", []), resource["group"])
        and has(rule.get("apiVersions", []), resource["version"])
        and has(rule.get("operations", []), request["operation"])
        and has(rule.get("resources", []), name)
    )


class AdmissionPolicy:
    """One ValidatingAdmissionPolicy (the parsed YAML) with a test-provided authorizer check."""

    def __init__(self, policy: dict[str, Any], check: Check) -> None:
        assert policy["kind"] == "ValidatingAdmissionPolicy"
        self.spec = policy["spec"]
        self.env = new_env(VARIABLES, authorizer_functions(check), typed={"request": ADMISSION_REQUEST})

    def _eval(self, expression: str, data: dict[str, Any]) -> Any:
        return evaluate(self.env, expression, data)

    def admit(self, request: dict[str, Any], namespace: dict[str, Any] | None = None) -> Verdict:
        """The policy's verdict on `request`; `namespace` is the request namespace's Namespace object
        (`namespaceObject`; by default one with that name and no labels or annotations)."""
        rules = self.spec["matchConstraints"]["resourceRules"]
        if not any(_rule_matches(rule, request) for rule in rules):
            return Verdict(matched=False, allowed=True)
        user = request["userInfo"]
        data: dict[str, Any] = {
            "object": request.get("object"),
            "oldObject": request.get("oldObject"),
            "request": admission_request(request),
            "params": None,
            "namespaceObject": namespace
            or ({"metadata": {"name": request["namespace"]}} if request.get("namespace") else None),
            "authorizer": {"user": user["username"], "groups": user.get("groups", [])},
            "variables": {},
        }
        fail = self.spec.get("failurePolicy", "Fail") == "Fail"
        try:
            for condition in self.spec.get("matchConditions", []):
                if not self._eval(condition["expression"], data):
                    return Verdict(matched=False, allowed=True)
            variables: dict[str, Any] = {}
            for variable in self.spec.get("variables", []):
                variables[variable["name"]] = self._eval(
                    variable["expression"], {**data, "variables": variables}
                )
            data["variables"] = variables
            messages = []
            for validation in self.spec.get("validations", []):
                if self._eval(validation["expression"], data) is not True:
                    if "messageExpression" in validation:
                        messages.append(str(self._eval(validation["messageExpression"], data)))
                    else:
                        messages.append(validation.get("message", validation["expression"]))
            annotations = {}
            for annotation in self.spec.get("auditAnnotations", []):
                value = self._eval(annotation["valueExpression"], data)
                if value is not None and value != "":  # null or "" omits the annotation
                    annotations[annotation["key"]] = str(value)
        except CelEvaluationError as exc:
            return Verdict(matched=True, allowed=not fail, messages=[f"evaluation error: {exc}"])
        return Verdict(matched=True, allowed=not messages, messages=messages, audit_annotations=annotations)
