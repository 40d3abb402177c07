"""The approval admission policy (config/admission), its CEL evaluated for real.

No fake API server here runs admission, so each expression is read from the YAML and evaluated with
cel-expr-python against AdmissionReview-shaped requests built below (vap.py plays the API server's
part: match, variables, validations, audit annotations). The `authorizer` is test-provided: it answers
from config/rbac plus the bindings below, through the RBAC evaluator of tests/rbac, so the `approve`
verb the policy asks about is the one the RBAC manifests grant. A real-cluster e2e run covers the
server side.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..rbac import rbac_evaluator as rbac
from .rr_objects import stored_rr as rr
from .vap import AdmissionPolicy, Verdict

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "config" / "admission" / "recommendation_approval_policy.yaml"
BRIDGE = "system:serviceaccount:krr-mcp-system:krr-mcp-bridge"
OPERATOR = "system:serviceaccount:krr-mcp-system:krr-mcp-operator"
SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:krr-mcp-system", "system:authenticated"]


def _binding(kind: str, user: str, role: str, namespace: str | None = None) -> dict[str, Any]:
    metadata = {"name": f"{user}-{role}"} | ({"namespace": namespace} if namespace else {})
    return {
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "User", "name": user}],
    }


HUMANS = [
    _binding("RoleBinding", "alice", "recommendation-approver", "shop"),
    _binding("RoleBinding", "carol", "edit", "shop"),  # approves through aggregation into edit
    _binding("RoleBinding", "bob", "recommendation-viewer", "shop"),
    _binding("ClusterRoleBinding", "root", "cluster-admin"),
    # dave may patch recommendations but holds no approve verb
    _binding("RoleBinding", "dave", "recommendation-patcher", "shop"),
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


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(POLICY_FILE.read_text()) if d]


@pytest.fixture(scope="module")
def policy(documents: list[dict[str, Any]]) -> AdmissionPolicy:
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
    cluster = rbac.Cluster([*(d for d in yaml.safe_load_all(rendered) if d), *HUMANS])

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

    vap = next(d for d in documents if d["kind"] == "ValidatingAdmissionPolicy")
    return AdmissionPolicy(vap, check)


def approved_rr(by: str = "alice", **spec: Any) -> dict[str, Any]:
    return rr(approved=True, approvedBy=by, **spec)


def request(
    user: str,
    operation: str,
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    groups: list[str] | None = None,
    sub_resource: str = "",
) -> dict[str, Any]:
    """An AdmissionReview's `request`, as the API server sends it."""
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
        "userInfo": {"username": user, "groups": groups if groups is not None else ["system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": False,
        "options": {},
    }


def bridge(operation: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    return request(BRIDGE, operation, obj, old, groups=SA_GROUPS)


def denied(verdict: Verdict, fragment: str) -> bool:
    return verdict.matched and not verdict.allowed and any(fragment in m for m in verdict.messages)


# The manifest -------------------------------------------------------------------------------------


def test_policy_and_binding_are_complete(documents: list[dict[str, Any]]) -> None:
    vap = next(d for d in documents if d["kind"] == "ValidatingAdmissionPolicy")
    binding = next(d for d in documents if d["kind"] == "ValidatingAdmissionPolicyBinding")
    assert vap["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert vap["spec"]["failurePolicy"] == "Fail"
    assert binding["spec"]["policyName"] == vap["metadata"]["name"]
    assert "Deny" in binding["spec"]["validationActions"]


# The bridge can never approve ---------------------------------------------------------------------


def test_the_bridge_creates_a_proposal(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(bridge("CREATE", rr()))
    assert verdict.matched and verdict.allowed, verdict.messages
    assert verdict.audit_annotations == {}


@pytest.mark.parametrize(
    "spec",
    [
        {"approved": True, "approvedBy": BRIDGE},
        {"approved": True, "approvedBy": "alice"},  # naming a human does not help
        {"approvedBy": "alice"},
        {"approved": True, "approvedBy": "alice", "rollbackRequested": True},
    ],
)
def test_the_bridge_cannot_create_an_approved_proposal(policy: AdmissionPolicy, spec: dict[str, Any]) -> None:
    assert denied(policy.admit(bridge("CREATE", rr(**spec))), "the krr-mcp bridge cannot approve")


def test_the_bridge_cannot_approve_or_roll_back_by_update(policy: AdmissionPolicy) -> None:
    # RBAC already refuses the bridge any update; this is the second layer.
    assert denied(policy.admit(bridge("UPDATE", approved_rr(by=BRIDGE), rr())), "bridge cannot approve")
    rollback = approved_rr(rollbackRequested=True)
    assert denied(policy.admit(bridge("UPDATE", rollback, approved_rr())), "bridge cannot approve")


# Humans approve with the approve verb, in their own name ------------------------------------------


@pytest.mark.parametrize("user", ["alice", "carol", "root"])
def test_an_approver_approves_in_their_own_name(policy: AdmissionPolicy, user: str) -> None:
    verdict = policy.admit(request(user, "UPDATE", approved_rr(by=user), rr()))
    assert verdict.allowed, verdict.messages
    assert verdict.audit_annotations == {"approved-by": user}


def test_an_approver_may_create_an_approved_recommendation(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "CREATE", approved_rr(by="alice")))
    assert verdict.allowed and verdict.audit_annotations == {"approved-by": "alice"}


@pytest.mark.parametrize(
    ("user", "namespace"),
    [
        ("bob", "shop"),  # a viewer
        ("dave", "shop"),  # may patch, but not approve
        ("mallory", "shop"),  # no role at all
        ("alice", "payments"),  # an approver, in another namespace
        (OPERATOR, "shop"),  # the operator cannot approve either
    ],
)
def test_approving_needs_the_approve_verb_there(policy: AdmissionPolicy, user: str, namespace: str) -> None:
    verdict = policy.admit(request(user, "UPDATE", approved_rr(namespace=namespace, by=user), rr(namespace)))
    assert denied(verdict, f"user {user} may not approve resourcerecommendations in namespace {namespace}")


def test_approved_by_must_be_the_requester(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "UPDATE", approved_rr(by="bob"), rr()))
    assert denied(verdict, 'spec.approvedBy must be the approving user (alice), not "bob"')


def test_changing_the_approver_counts_as_approving(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("bob", "UPDATE", approved_rr(by="bob"), approved_rr(by="alice")))
    assert denied(verdict, "user bob may not approve")


# Rollback requests --------------------------------------------------------------------------------


def test_an_approver_requests_a_rollback(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("carol", "UPDATE", approved_rr(rollbackRequested=True), approved_rr()))
    assert verdict.allowed, verdict.messages
    assert verdict.audit_annotations == {"rollback-requested-by": "carol"}


def test_a_viewer_cannot_request_a_rollback(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("bob", "UPDATE", approved_rr(rollbackRequested=True), approved_rr()))
    assert denied(verdict, "user bob may not request a rollback in namespace shop")


# An approved proposal is frozen -------------------------------------------------------------------


def _bigger(obj: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    changed["spec"]["containers"][0]["proposed"]["limits"]["memory"] = "8Gi"
    return changed


def test_an_approved_proposal_is_immutable(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "UPDATE", _bigger(approved_rr()), approved_rr()))
    assert denied(verdict, "an approved recommendation is immutable")
    retarget = approved_rr(target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments"})
    assert denied(policy.admit(request("root", "UPDATE", retarget, approved_rr())), "immutable")


def test_an_unapproved_proposal_can_still_change(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "UPDATE", _bigger(rr()), rr()))
    assert verdict.matched and verdict.allowed, verdict.messages


def test_rejecting_needs_no_approve_verb(policy: AdmissionPolicy) -> None:
    # Who may patch at all is RBAC's call; the policy only guards approvals and rollbacks.
    verdict = policy.admit(request("bob", "UPDATE", rr(rejected=True), rr()))
    assert verdict.matched and verdict.allowed, verdict.messages


# What the policy does not look at -----------------------------------------------------------------


def test_metadata_only_updates_are_not_matched(policy: AdmissionPolicy) -> None:
    old = approved_rr()
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["kopf.zalando.org/KopfFinalizerMarker"]
    verdict = policy.admit(request(OPERATOR, "UPDATE", new, old, groups=SA_GROUPS))
    assert not verdict.matched and verdict.allowed


def test_status_writes_are_not_matched(policy: AdmissionPolicy) -> None:
    old = approved_rr()
    new = _bigger(old)  # would be refused on the main resource
    verdict = policy.admit(request(OPERATOR, "UPDATE", new, old, groups=SA_GROUPS, sub_resource="status"))
    assert not verdict.matched and verdict.allowed


def test_the_bridge_is_recognised_in_any_install_namespace(policy: AdmissionPolicy) -> None:
    elsewhere = "system:serviceaccount:platform-tools:krr-mcp-bridge"
    verdict = policy.admit(request(elsewhere, "CREATE", approved_rr(by=elsewhere), groups=SA_GROUPS))
    assert denied(verdict, "the krr-mcp bridge cannot approve")
    lookalike = "system:serviceaccount:shop:krr-mcp-bridge-helper"  # not the bridge: judged as a user
    verdict = policy.admit(request(lookalike, "CREATE", rr(), groups=SA_GROUPS))
    assert verdict.allowed, verdict.messages
