"""Least privilege, proven from config/rbac as kustomize renders it.

No fake API server here enforces RBAC (the sandbox server authorizes nothing), so this is a pure test
of the manifests: a small evaluator (rbac_evaluator.py, following the RBAC authorizer's matching rules)
answers "may this subject do this?" from the rendered ClusterRoles and bindings. The server side is
covered by the real-cluster suite (tests/realcluster). A careless edit to config/rbac fails here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .rbac_evaluator import Cluster, Request, Subject, rule_allows

ROOT = Path(__file__).resolve().parents[2]
RBAC_DIR = ROOT / "config" / "rbac"
NAMESPACE = "krr-mcp-system"
BRIDGE = Subject.service_account(NAMESPACE, "krr-mcp-bridge")
OPERATOR = Subject.service_account(NAMESPACE, "krr-mcp-operator")

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
WORKLOADS = [("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "cronjobs")]
SCANNED = [*WORKLOADS, ("batch", "jobs")]  # the bridge reads Jobs to scan them (it never writes them)
CONTEXT = [
    ("", "namespaces"),
    ("", "limitranges"),
    ("", "resourcequotas"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("policy", "poddisruptionbudgets"),
]
RR = ("krr-mcp.io", "resourcerecommendations")
POLICIES = [("krr-mcp.io", "clusterrecommendationpolicies"), ("krr-mcp.io", "recommendationpolicies")]


def _kubectl() -> str:
    found = shutil.which("kubectl", path=str(ROOT / ".venv" / "bin")) or shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed: cannot render config/rbac with kustomize")
    return found


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    rendered = subprocess.run(
        [_kubectl(), "kustomize", str(RBAC_DIR)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


@pytest.fixture(scope="module")
def cluster(documents: list[dict[str, Any]]) -> Cluster:
    return Cluster(documents)


def granted(cluster: Cluster, role: str) -> set[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) a ClusterRole names, expanded."""
    return {
        (group, resource, verb)
        for rule in cluster.cluster_role_rules(role)
        for group in rule.get("apiGroups") or []
        for resource in rule.get("resources") or []
        for verb in rule.get("verbs") or []
    }


# The evaluator itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "request_", "allowed"),
    [
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
            Request("patch", "apps", "deployments"),
            True,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
            Request("update", "apps", "deployments"),
            False,
        ),
        (
            {"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["get"]},
            Request("get", "apps", "deployments"),
            True,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]},
            Request("get", "apps", "deployments", "scale"),
            True,
        ),
        ({"apiGroups": ["x"], "resources": ["rrs"], "verbs": ["*"]}, Request("approve", "x", "rrs"), True),
        # a subresource is its own resource: the parent does not grant it, nor it the parent
        (
            {"apiGroups": ["x"], "resources": ["rrs"], "verbs": ["patch"]},
            Request("patch", "x", "rrs", "status"),
            False,
        ),
        (
            {"apiGroups": ["x"], "resources": ["rrs/status"], "verbs": ["patch"]},
            Request("patch", "x", "rrs"),
            False,
        ),
        (
            {"apiGroups": ["x"], "resources": ["*/status"], "verbs": ["patch"]},
            Request("patch", "x", "rrs", "status"),
            True,
        ),
        (
            {"apiGroups": ["x"], "resources": ["rrs"], "verbs": ["get"], "resourceNames": ["a"]},
            Request("get", "x", "rrs", name="a"),
            True,
        ),
        (
            {"apiGroups": ["x"], "resources": ["rrs"], "verbs": ["get"], "resourceNames": ["a"]},
            Request("get", "x", "rrs", name="b"),
            False,
        ),
    ],
)
def test_evaluator_matching(rule: dict[str, Any], request_: Request, allowed: bool) -> None:
    assert rule_allows(rule, request_) is allowed


def test_evaluator_respects_binding_scope() -> None:
    role = {
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "shop"},
        "roleRef": {"kind": "ClusterRole", "name": "r"},
        "subjects": [{"kind": "User", "name": "alice"}],
    }
    cluster = Cluster([role, binding])
    assert cluster.allows(Subject("alice"), Request("get", "", "pods", namespace="shop"))
    assert not cluster.allows(Subject("alice"), Request("get", "", "pods", namespace="other"))
    assert not cluster.allows(Subject("bob"), Request("get", "", "pods", namespace="shop"))


# The manifests ------------------------------------------------------------------------------------


def test_one_service_account_per_component(documents: list[dict[str, Any]]) -> None:
    accounts = {
        (d["metadata"]["namespace"], d["metadata"]["name"])
        for d in documents
        if d["kind"] == "ServiceAccount"
    }
    assert accounts == {(NAMESPACE, "krr-mcp-operator"), (NAMESPACE, "krr-mcp-bridge")}


def test_bindings_point_at_roles_that_exist(cluster: Cluster) -> None:
    for binding in cluster.bindings:
        assert binding["roleRef"]["name"] in cluster.cluster_roles, binding["metadata"]["name"]


def test_no_rule_anywhere_uses_a_wildcard_or_a_dangerous_verb(documents: list[dict[str, Any]]) -> None:
    for doc in documents:
        for rule in doc.get("rules") or []:
            for key in ("verbs", "apiGroups", "resources"):
                assert not any("*" in value for value in rule.get(key) or []), (doc["metadata"]["name"], rule)
            assert not {"escalate", "bind", "impersonate"} & set(rule.get("verbs") or []), doc["metadata"][
                "name"
            ]
            assert "secrets" not in (rule.get("resources") or []), doc["metadata"]["name"]
            assert not rule.get("nonResourceURLs"), doc["metadata"]["name"]


def test_the_bridge_is_granted_exactly_reads_and_rr_create(cluster: Cluster) -> None:
    expected = {(g, r, v) for g, r in [*SCANNED, *CONTEXT, ("", "pods"), RR, *POLICIES] for v in READ}
    expected.add((*RR, "create"))
    assert granted(cluster, "krr-mcp-bridge") == expected


@pytest.mark.parametrize(("group", "resource"), SCANNED)
@pytest.mark.parametrize("verb", WRITE)
def test_the_bridge_cannot_change_workloads(group: str, resource: str, verb: str, cluster: Cluster) -> None:
    assert not cluster.allows(BRIDGE, Request(verb, group, resource, name="web"))


@pytest.mark.parametrize(
    "request_",
    [
        Request("patch", *RR, name="web-1"),
        Request("update", *RR, name="web-1"),
        Request("delete", *RR, name="web-1"),
        Request("approve", *RR, name="web-1"),
        Request("patch", *RR, subresource="status", name="web-1"),
        Request("update", *RR, subresource="status", name="web-1"),
        Request("patch", "apps", "deployments", subresource="scale", name="web"),
        Request("get", "", "secrets", name="token"),
        Request("create", "", "pods"),
        Request("create", "", "pods", subresource="exec", name="web-1"),
        Request("create", "krr-mcp.io", "recommendationpolicies"),
        Request("patch", "", "namespaces", namespace="", name="shop"),
    ],
)
def test_the_bridge_cannot(request_: Request, cluster: Cluster) -> None:
    assert not cluster.allows(BRIDGE, request_)


@pytest.mark.parametrize(
    "request_",
    [
        *(Request(v, g, r) for g, r in [*SCANNED, *CONTEXT, ("", "pods"), RR] for v in READ),
        Request("create", *RR),
    ],
)
def test_the_bridge_can(request_: Request, cluster: Cluster) -> None:
    assert cluster.allows(BRIDGE, request_)


def test_the_operator_is_granted_exactly_what_applying_needs(cluster: Cluster) -> None:
    expected = {(g, r, v) for g, r in [*WORKLOADS, RR] for v in (*READ, "patch")}
    expected |= {(g, r, v) for g, r in [*CONTEXT, *POLICIES] for v in READ}
    expected |= {("krr-mcp.io", "resourcerecommendations/status", "patch")}
    expected |= {("", "events", "create"), ("", "events", "patch"), ("", "pods", "list")}
    expected |= {("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("list", "watch")}
    expected |= {
        ("admissionregistration.k8s.io", r, v)
        for r in ("validatingadmissionpolicies", "validatingadmissionpolicybindings")
        for v in ("get", "list")
    }  # the approval gate: is the approval policy installed and denying?
    assert granted(cluster, "krr-mcp-operator") == expected


@pytest.mark.parametrize(
    "request_",
    [
        *(
            Request(v, g, r, name="web")
            for g, r in WORKLOADS
            for v in ("create", "update", "delete", "deletecollection")
        ),
        Request("create", *RR),
        Request("delete", *RR, name="web-1"),
        Request("update", *RR, name="web-1"),
        Request("approve", *RR, name="web-1"),
        Request("patch", "apps", "deployments", subresource="scale", name="web"),
        Request("get", "", "secrets", name="token"),
        Request("get", "", "pods", name="web-1"),
        Request("delete", "", "pods", name="web-1"),
        Request("create", "", "pods", subresource="exec", name="web-1"),
        Request("patch", "krr-mcp.io", "recommendationpolicies", name="default"),
    ],
)
def test_the_operator_cannot(request_: Request, cluster: Cluster) -> None:
    assert not cluster.allows(OPERATOR, request_)


@pytest.mark.parametrize(
    "request_",
    [
        *(Request("patch", g, r, name="web") for g, r in WORKLOADS),
        Request("patch", *RR, name="web-1"),
        Request("patch", *RR, subresource="status", name="web-1"),
        Request("create", "", "events"),
        Request("list", "", "pods"),
        Request("list", "apiextensions.k8s.io", "customresourcedefinitions", namespace=""),
    ],
)
def test_the_operator_can(request_: Request, cluster: Cluster) -> None:
    assert cluster.allows(OPERATOR, request_)


def test_humans_approve_with_the_custom_verb(cluster: Cluster) -> None:
    assert granted(cluster, "recommendation-approver") == {(*RR, v) for v in (*READ, "patch", "approve")}
    labels = cluster.cluster_roles["recommendation-approver"]["metadata"]["labels"]
    assert labels["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert labels["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert "rbac.authorization.k8s.io/aggregate-to-view" not in labels


def test_viewers_only_read(cluster: Cluster) -> None:
    verbs = {v for _, _, v in granted(cluster, "recommendation-viewer")}
    assert verbs == set(READ)
    labels = cluster.cluster_roles["recommendation-viewer"]["metadata"]["labels"]
    assert labels["rbac.authorization.k8s.io/aggregate-to-view"] == "true"


def test_an_editor_bound_in_one_namespace_approves_only_there(documents: list[dict[str, Any]]) -> None:
    """The built-in `edit` role aggregates the approver role; bound in shop, it approves only in shop."""
    edit = {
        "kind": "ClusterRole",
        "metadata": {"name": "edit"},
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}]
        },
    }
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "alice-edit", "namespace": "shop"},
        "roleRef": {"kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": "alice"}],
    }
    cluster = Cluster([*documents, edit, binding])
    alice = Subject("alice", ("system:authenticated",))
    assert cluster.allows(alice, Request("approve", *RR, namespace="shop", name="web-1"))
    assert not cluster.allows(alice, Request("approve", *RR, namespace="payments", name="web-1"))
    assert not cluster.allows(
        alice, Request("patch", *RR, subresource="status", namespace="shop", name="web-1")
    )
