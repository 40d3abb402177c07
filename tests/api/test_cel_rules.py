"""The CRDs' x-kubernetes-validations rules, evaluated for real (cel-expr-python) with self/oldSelf.

Rules are read from the generated crds/*.yaml (the same text the API server gets), found by walking
each schema, and evaluated at every place their schema node matches in the object, as the API server
does: transition rules (those naming oldSelf) only on an update where the old value exists.
`quantity()` is Kubernetes' own CEL library; cel-expr-python lets us register functions, so the tests
provide it (krr_mcp/cel.py, exact Decimal comparison; the sandbox enforces the same rules).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from krr_mcp.cel import CelEvaluationError, evaluate, new_env, quantity_functions
from krr_mcp.sandbox.celrules import RULES

from ..builders import stored_proposal as rr

ROOT = Path(__file__).resolve().parents[2]


ENV = new_env(["self", "oldSelf"], quantity_functions())


def _crd(plural: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "crds" / f"{plural}.krr-mcp.io.yaml").read_text())


CRDS = {
    plural: _crd(plural)
    for plural in ("resourcerecommendations", "clusterrecommendationpolicies", "recommendationpolicies")
}


def rules_of(
    schema: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, rule) for every x-kubernetes-validations rule; "[]" in a path stands for list items."""
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, rule
    for key, child in (schema.get("properties") or {}).items():
        yield from rules_of(child, (*path, key))
    if "items" in schema:
        yield from rules_of(schema["items"], (*path, "[]"))


def _values(obj: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(concrete location, value) for each place `path` matches in `obj`."""
    if not path:
        yield (), obj
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        for index, item in enumerate(obj if isinstance(obj, list) else []):
            for where, value in _values(item, rest):
                yield (index, *where), value
    elif isinstance(obj, dict) and head in obj:
        for where, value in _values(obj[head], rest):
            yield (head, *where), value


def _at(obj: Any, where: tuple[Any, ...]) -> Any:
    for key in where:
        if isinstance(key, int):
            if not isinstance(obj, list) or key >= len(obj):
                return None
        elif not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def violations(plural: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """The messages of every rule the object breaks (an evaluation error counts as broken)."""
    schema = CRDS[plural]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    found = []
    for path, rule in rules_of(schema):
        transition = "oldSelf" in rule["rule"]
        for where, value in _values(new, path):
            old_value = _at(old, where) if old is not None else None
            if transition and old_value is None:
                continue  # transition rules run only on updates where the old value exists
            try:
                ok = evaluate(ENV, rule["rule"], {"self": value, "oldSelf": old_value})
            except CelEvaluationError as exc:
                found.append(f"{rule['message']} (error: {exc})")
                continue
            if ok is not True:
                found.append(rule["message"])
    return found


# Objects -------------------------------------------------------------------------------------------


def with_proposed(proposed: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = copy.deepcopy(base or rr())
    obj["spec"]["containers"][0]["proposed"] = proposed
    return obj


APPROVED = rr(approved=True, approvedBy="alice")


def cluster_policy(name: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ClusterRecommendationPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def ns_policy(name: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "RecommendationPolicy",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


# Cases: (CRD, new object, old object or None, the rule messages expected to fail) -----------------

CASES = [
    # states
    ("resourcerecommendations", rr(), None, []),
    ("resourcerecommendations", APPROVED, None, []),
    (
        "resourcerecommendations",
        rr(approved=True),
        None,
        ["approved requires approvedBy (the human who approved)"],
    ),
    (
        "resourcerecommendations",
        rr(approved=True, approvedBy=""),
        None,
        ["approved requires approvedBy (the human who approved)"],
    ),
    (
        "resourcerecommendations",
        rr(rollbackRequested=True, rollbackRequestedBy="bob"),
        None,
        ["only an approved recommendation can be rolled back"],
    ),
    (
        "resourcerecommendations",
        rr(approved=True, approvedBy="alice", rollbackRequested=True),
        None,
        ["rollbackRequested requires rollbackRequestedBy (the human who asked for it)"],
    ),
    (
        "resourcerecommendations",
        rr(approved=True, approvedBy="alice", rejected=True),
        None,
        ["a recommendation cannot be both approved and rejected"],
    ),
    # transitions
    ("resourcerecommendations", APPROVED, rr(), []),  # approving
    ("resourcerecommendations", rr(rejected=True), rr(), []),  # rejecting
    (
        "resourcerecommendations",
        rr(approved=True, approvedBy="alice", rollbackRequested=True, rollbackRequestedBy="bob"),
        APPROVED,
        [],
    ),
    ("resourcerecommendations", with_proposed({"requests": {"cpu": "1"}}), rr(), []),  # unapproved: editable
    (
        "resourcerecommendations",
        with_proposed({"requests": {"cpu": "1"}}, APPROVED),
        APPROVED,
        ["an approved recommendation is immutable: target and containers cannot change"],
    ),
    (
        "resourcerecommendations",
        rr(
            approved=True,
            approvedBy="alice",
            target={"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"},
        ),
        APPROVED,
        ["an approved recommendation is immutable: target and containers cannot change"],
    ),
    (
        "resourcerecommendations",
        rr(),
        APPROVED,
        [
            "approval cannot be withdrawn; set rejected or rollbackRequested instead",
            "approvedBy cannot change once approved",
        ],
    ),
    (
        "resourcerecommendations",
        rr(approved=True, approvedBy="mallory"),
        APPROVED,
        ["approvedBy cannot change once approved"],
    ),
    ("resourcerecommendations", rr(), rr(rejected=True), ["a rejection cannot be withdrawn"]),
    (
        "resourcerecommendations",
        APPROVED,
        rr(approved=True, approvedBy="alice", rollbackRequested=True, rollbackRequestedBy="bob"),
        ["a rollback request cannot be withdrawn", "rollbackRequestedBy cannot change once set"],
    ),
    (
        "resourcerecommendations",
        rr(approved=True, approvedBy="alice", rollbackRequested=True, rollbackRequestedBy="mallory"),
        rr(approved=True, approvedBy="alice", rollbackRequested=True, rollbackRequestedBy="bob"),
        ["rollbackRequestedBy cannot change once set"],
    ),
    # proposed limits vs requests, compared as quantities (not as strings)
    (
        "resourcerecommendations",
        with_proposed({"requests": {"cpu": "1"}, "limits": {"cpu": "1000m"}}),
        None,
        [],
    ),
    (
        "resourcerecommendations",
        with_proposed({"requests": {"memory": "1Gi"}, "limits": {"memory": "1024Mi"}}),
        None,
        [],
    ),
    (
        "resourcerecommendations",
        with_proposed({"requests": {"cpu": "900m"}, "limits": {"cpu": "1"}}),
        None,
        [],
    ),
    # no limits, or no requests at all: the rule must not trip over the missing map
    ("resourcerecommendations", with_proposed({"requests": {"cpu": "250m"}}), None, []),
    ("resourcerecommendations", with_proposed({"limits": {"memory": "1Gi"}}), None, []),
    ("resourcerecommendations", with_proposed({}), None, []),
    (
        "resourcerecommendations",
        with_proposed({"requests": {"cpu": "1001m"}, "limits": {"cpu": "1"}}),
        None,
        ["limits.cpu must not be below requests.cpu"],
    ),
    (
        "resourcerecommendations",
        with_proposed({"requests": {"memory": "1Gi"}, "limits": {"memory": "1023Mi"}}),
        None,
        ["limits.memory must not be below requests.memory"],
    ),
    # policies
    (
        "clusterrecommendationpolicies",
        cluster_policy(floors={"cpu": "1"}, ceilings={"cpu": "1000m"}),
        None,
        [],
    ),
    ("clusterrecommendationpolicies", cluster_policy(protectedNamespaces=["kube-system"]), None, []),
    (
        "clusterrecommendationpolicies",
        cluster_policy(floors={"cpu": "1001m"}, ceilings={"cpu": "1"}),
        None,
        ["floors.cpu must not be above ceilings.cpu"],
    ),
    (
        "clusterrecommendationpolicies",
        cluster_policy(floors={"memory": "2Gi"}, ceilings={"memory": "1Gi"}),
        None,
        ["floors.memory must not be above ceilings.memory"],
    ),
    (
        "clusterrecommendationpolicies",
        cluster_policy(name="strict"),
        None,
        ["the cluster policy must be named default"],
    ),
    ("recommendationpolicies", ns_policy(floors={"memory": "64Mi"}), None, []),
    (
        "recommendationpolicies",
        ns_policy(name="other"),
        None,
        ["a namespace's policy must be named default (one per namespace)"],
    ),
    (
        "recommendationpolicies",
        ns_policy(protectedNamespaces=[]),
        None,
        ["protectedNamespaces, optOutKey and pricing are set only in the cluster default policy"],
    ),
    (
        "recommendationpolicies",
        ns_policy(optOutKey="x"),
        None,
        ["protectedNamespaces, optOutKey and pricing are set only in the cluster default policy"],
    ),
    (
        "recommendationpolicies",
        ns_policy(pricing={"cpuPerCoreHour": 0.0}),
        None,
        ["protectedNamespaces, optOutKey and pricing are set only in the cluster default policy"],
    ),
    (
        "clusterrecommendationpolicies",
        cluster_policy(pricing={"cpuPerCoreHour": 0.02, "currency": "EUR", "openCostUrl": "http://oc:9003"}),
        None,
        [],
    ),
]


@pytest.mark.parametrize(("plural", "new", "old", "expected"), CASES)
def test_rule(plural: str, new: dict[str, Any], old: dict[str, Any] | None, expected: list[str]) -> None:
    assert sorted(violations(plural, new, old)) == sorted(expected)


def test_every_rule_has_a_denied_case() -> None:
    messages = {
        rule["message"]
        for crd in CRDS.values()
        for _, rule in rules_of(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    }
    denied = {message for *_, expected in CASES for message in expected}
    assert messages == denied


def test_an_unparseable_quantity_fails_the_rule() -> None:
    # The CRD's pattern stops this earlier; were it to pass, quantity() errors and the write is refused.
    found = violations(
        "resourcerecommendations", with_proposed({"requests": {"cpu": "x"}, "limits": {"cpu": "1"}})
    )
    assert len(found) == 1 and "error" in found[0]


@pytest.mark.parametrize(("plural", "new", "old", "expected"), CASES)
def test_the_sandbox_enforces_the_same_verdicts(
    plural: str, new: dict[str, Any], old: dict[str, Any] | None, expected: list[str]
) -> None:
    """The sandbox's rule engine (krr_mcp/sandbox/celrules.py) agrees with this table, case by case."""
    schema = CRDS[plural]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    errors = RULES.violations(new, schema, old)
    # kube-apiserver prints a scalar's value before the message, nothing for an object or a list
    value = r'(?:"(?:[^"\\]|\\.)*": |-?\d[\d.]*: |true: |false: )?'
    messages = [re.sub(rf"^[^:]+: Invalid value: {value}", "", error) for error in errors]
    assert sorted(messages) == sorted(expected)
