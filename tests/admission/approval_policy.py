"""The approval policy of config/admission, ready to evaluate: its YAML, an authorizer answering from
config/rbac plus the test identities below, and AdmissionReview-shaped requests. Shared by
test_admission_policy.py and the hostile-input corpus (tests/corpus/admission)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..builders import stored_proposal as rr
from ..rbac import rbac_evaluator as rbac
from .vap import AdmissionPolicy, Verdict

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "config" / "admission" / "recommendation_approval_policy.yaml"
BRIDGE = "system:serviceaccount:krr-mcp-system:krr-mcp-bridge"
OPERATOR = "system:serviceaccount:krr-mcp-system:krr-mcp-operator"
CI_DEPLOYER = "system:serviceaccount:shop:ci-deployer"  # holds the built-in edit role in shop
ROBOT_APPROVERS = "krr-mcp.io/robot-approvers"  # the Namespace annotation naming robot approvers


def service_account_groups(user: str) -> list[str]:
    """The groups the API server gives a ServiceAccount's token."""
    namespace = user.split(":")[2]
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]


SA_GROUPS = service_account_groups(BRIDGE)


def _binding(kind: str, user: str, role: str, namespace: str | None = None) -> dict[str, Any]:
    metadata = {"name": f"{user}-{role}"} | ({"namespace": namespace} if namespace else {})
    return {
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "User", "name": user}],
    }


IDENTITIES = [
    _binding("RoleBinding", "alice", "recommendation-approver", "shop"),
    _binding("RoleBinding", "carol", "edit", "shop"),  # approves through aggregation into edit
    _binding("RoleBinding", "bob", "recommendation-viewer", "shop"),
    _binding("ClusterRoleBinding", "root", "cluster-admin"),
    # dave may patch recommendations but holds no approve verb
    _binding("RoleBinding", "dave", "recommendation-patcher", "shop"),
    # a CI robot holding the built-in edit role in shop (so, through aggregation, `approve`)
    {
        "kind": "RoleBinding",
        "metadata": {"name": "ci-deployer-edit", "namespace": "shop"},
        "roleRef": {"kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "ci-deployer", "namespace": "shop"}],
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "recommendation-patcher"},
        "rules": [
            {"apiGroups": ["krr-mcp.io"], "resources": ["resourcerecommendations"], "verbs": ["get", "patch"]}
        ],
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "cluster-admin"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    },
    {
        "kind": "ClusterRole",
        "metadata": {"name": "edit"},
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}]
        },
    },
]


def load_documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(POLICY_FILE.read_text()) if d]


@functools.cache
def load_policy() -> AdmissionPolicy:
    """The policy with an authorizer answering from `kubectl kustomize config/rbac` + IDENTITIES."""
    kubectl = shutil.which("kubectl", path=str(ROOT / ".venv" / "bin")) or shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot render config/rbac for the authorizer")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "config" / "rbac")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    cluster = rbac.Cluster([*(d for d in yaml.safe_load_all(rendered) if d), *IDENTITIES])

    def check(user: str, groups: list[str], attributes: dict[str, str], verb: str) -> bool:
        request = rbac.Request(
            verb,
            attributes.get("group", ""),
            attributes.get("resource", ""),
            attributes.get("subresource", ""),
            attributes.get("namespace", ""),
            attributes.get("name", ""),
        )
        return bool(cluster.allows(rbac.Subject(user, tuple(groups)), request))

    vap = next(d for d in load_documents() if d["kind"] == "ValidatingAdmissionPolicy")
    return AdmissionPolicy(vap, check)


def request(
    user: str,
    operation: str,
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    groups: list[str] | None = None,
    sub_resource: str = "",
) -> dict[str, Any]:
    """An AdmissionReview's `request`, as the API server sends it (a ServiceAccount's groups by
    default for a ServiceAccount's user name)."""
    if groups is None:
        is_sa = user.startswith("system:serviceaccount:")
        groups = service_account_groups(user) if is_sa else ["system:authenticated"]
    gvk = {"group": "krr-mcp.io", "version": "v1alpha1", "kind": "ResourceRecommendation"}
    gvr = {"group": "krr-mcp.io", "version": "v1alpha1", "resource": "resourcerecommendations"}
    return {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": gvk,
        "resource": gvr,
        "subResource": sub_resource,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"]["namespace"],
        "operation": operation,
        "userInfo": {"username": user, "groups": groups},
        "object": obj,
        "oldObject": old,
        "dryRun": False,
        "options": {},
    }


def bridge(operation: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    return request(BRIDGE, operation, obj, old)


def denied(verdict: Verdict, fragment: str) -> bool:
    return verdict.matched and not verdict.allowed and any(fragment in m for m in verdict.messages)


__all__ = ["rr"]
