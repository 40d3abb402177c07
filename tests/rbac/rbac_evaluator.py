"""A small RBAC evaluator over manifests: does a subject's bound rules allow one request?

It follows the Kubernetes RBAC authorizer's matching (plugin/pkg/auth/authorizer/rbac): a rule allows a
request when its verbs, apiGroups, resources (with `resource/subresource`, `*`, `*/sub`) and
resourceNames all match; a RoleBinding grants only in its namespace, a ClusterRoleBinding everywhere;
subjects are users, groups (incl. system:serviceaccounts[:ns]) and ServiceAccounts. Aggregation is
resolved from the ClusterRoles given (aggregationRule selectors over their labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = "shop"
    name: str = ""


@dataclass(frozen=True)
class Subject:
    user: str
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> Subject:
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        )


def _matches(values: Iterable[str], wanted: str) -> bool:
    values = list(values)
    return "*" in values or wanted in values


def _resource_matches(resources: Iterable[str], request: Request) -> bool:
    full = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    for resource in resources:
        if resource in ("*", full):
            return True
        if request.subresource and resource == f"*/{request.subresource}":
            return True
    return False


def rule_allows(rule: dict[str, Any], request: Request) -> bool:
    """One PolicyRule against one resource request."""
    if not _matches(rule.get("verbs") or [], request.verb):
        return False
    if not _matches(rule.get("apiGroups") or [], request.group):
        return False
    if not _resource_matches(rule.get("resources") or [], request):
        return False
    names = rule.get("resourceNames") or []
    return not names or request.name in names


def _subject_matches(binding_subject: dict[str, Any], subject: Subject) -> bool:
    kind = binding_subject.get("kind")
    if kind == "User":
        return binding_subject.get("name") == subject.user
    if kind == "Group":
        return binding_subject.get("name") in subject.groups
    if kind == "ServiceAccount":
        return (
            subject.user
            == f"system:serviceaccount:{binding_subject.get('namespace')}:{binding_subject.get('name')}"
        )
    return False


class Cluster:
    """The RBAC objects of a set of manifests, and the questions asked of them."""

    def __init__(self, documents: Iterable[dict[str, Any]]) -> None:
        docs = [d for d in documents if d]
        self.cluster_roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
        self.roles = {
            (d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs if d["kind"] == "Role"
        }
        self.bindings = [d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]

    def cluster_role_rules(self, name: str) -> list[dict[str, Any]]:
        """A ClusterRole's rules, plus those of the ClusterRoles its aggregationRule selects."""
        role = self.cluster_roles.get(name)
        if role is None:
            return []
        rules = list(role.get("rules") or [])
        for selector in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
            wanted = selector.get("matchLabels") or {}
            for other in self.cluster_roles.values():
                labels = other["metadata"].get("labels") or {}
                if other is not role and all(labels.get(k) == v for k, v in wanted.items()):
                    rules.extend(other.get("rules") or [])
        return rules

    def rules_for(self, subject: Subject, namespace: str | None) -> list[dict[str, Any]]:
        """Every rule bound to the subject that applies in `namespace` (None: cluster-scoped request)."""
        rules: list[dict[str, Any]] = []
        for binding in self.bindings:
            if not any(_subject_matches(s, subject) for s in binding.get("subjects") or []):
                continue
            if binding["kind"] == "RoleBinding" and binding["metadata"].get("namespace") != namespace:
                continue
            ref = binding["roleRef"]
            if ref["kind"] == "ClusterRole":
                rules.extend(self.cluster_role_rules(ref["name"]))
            else:
                role = self.roles.get((binding["metadata"].get("namespace"), ref["name"]))
                rules.extend((role or {}).get("rules") or [])
        return rules

    def allows(self, subject: Subject, request: Request) -> bool:
        return any(rule_allows(rule, request) for rule in self.rules_for(subject, request.namespace or None))
