"""The approval admission policy (config/admission), its CEL evaluated for real.

No fake API server here runs admission, so each expression is read from the YAML and evaluated with
cel-expr-python against AdmissionReview-shaped requests (approval_policy.py; vap.py plays the API
server's part: match, variables, validations, audit annotations). The `authorizer` answers from
config/rbac plus a few bindings, through the RBAC evaluator of tests/rbac, so the `approve` verb the
policy asks about is the one the RBAC manifests grant. tests/realcluster runs the same cases against
a real kube-apiserver.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec

from .approval_policy import (
    BRIDGE,
    CI_DEPLOYER,
    OPERATOR,
    ROBOT_APPROVERS,
    bridge,
    denied,
    load_documents,
    load_policy,
    request,
    rr,
)
from .vap import AdmissionPolicy

# spec fields of an RR alice approved, and of one whose rollback is then requested
APPROVED: dict[str, Any] = {"approved": True, "approvedBy": "alice"}
ROLLBACK: dict[str, Any] = APPROVED | {"rollbackRequested": True}


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return load_documents()


@pytest.fixture(scope="module")
def policy() -> AdmissionPolicy:
    return load_policy()


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
        {"rollbackRequestedBy": "alice"},
    ],
)
def test_the_bridge_cannot_create_an_approved_proposal(policy: AdmissionPolicy, spec: dict[str, Any]) -> None:
    assert denied(policy.admit(bridge("CREATE", rr(**spec))), "the krr-mcp bridge cannot approve")


def test_the_bridge_cannot_approve_or_roll_back_by_update(policy: AdmissionPolicy) -> None:
    # RBAC already refuses the bridge any update; this is the second layer.
    assert denied(
        policy.admit(bridge("UPDATE", rr(approved=True, approvedBy=BRIDGE), rr())), "bridge cannot approve"
    )
    rollback = rr(**ROLLBACK, rollbackRequestedBy=BRIDGE)
    assert denied(
        policy.admit(bridge("UPDATE", rollback, rr(**APPROVED))),
        "bridge cannot approve",
    )


# Humans approve with the approve verb, in their own name ------------------------------------------


@pytest.mark.parametrize("user", ["alice", "carol", "root"])
def test_an_approver_approves_in_their_own_name(policy: AdmissionPolicy, user: str) -> None:
    verdict = policy.admit(request(user, "UPDATE", rr(approved=True, approvedBy=user), rr()))
    assert verdict.allowed, verdict.messages
    assert verdict.audit_annotations == {"approved-by": user}


@pytest.mark.parametrize(
    "spec",
    [
        {"approved": True, "approvedBy": "alice"},
        {"approvedBy": "alice"},
        {"approved": True, "approvedBy": "alice", "rollbackRequested": True, "rollbackRequestedBy": "alice"},
        {"rollbackRequestedBy": "alice"},
    ],
)
def test_nobody_creates_an_approved_recommendation(policy: AdmissionPolicy, spec: dict[str, Any]) -> None:
    # An approval is a decision about an object someone reviewed: create, review, then approve.
    for user in ("alice", "root"):
        verdict = policy.admit(request(user, "CREATE", rr(**spec)))
        assert denied(verdict, "a recommendation is created as a proposal"), verdict


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
    verdict = policy.admit(
        request(user, "UPDATE", rr(namespace, approved=True, approvedBy=user), rr(namespace))
    )
    assert denied(verdict, f"user {user} may not approve resourcerecommendations in namespace {namespace}")


def test_approved_by_must_be_the_requester(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "UPDATE", rr(approved=True, approvedBy="bob"), rr()))
    assert denied(verdict, 'spec.approvedBy must be the approving user (alice), not "bob"')


def test_changing_the_approver_counts_as_approving(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("bob", "UPDATE", rr(approved=True, approvedBy="bob"), rr(**APPROVED)))
    assert denied(verdict, "user bob may not approve")


# Rollback requests --------------------------------------------------------------------------------


def test_an_approver_requests_a_rollback(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(
        request("carol", "UPDATE", rr(**ROLLBACK, rollbackRequestedBy="carol"), rr(**APPROVED))
    )
    assert verdict.allowed, verdict.messages
    assert verdict.audit_annotations == {"rollback-requested-by": "carol"}


def test_a_viewer_cannot_request_a_rollback(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(
        request("bob", "UPDATE", rr(**ROLLBACK, rollbackRequestedBy="bob"), rr(**APPROVED))
    )
    assert denied(verdict, "user bob may not request a rollback in namespace shop")


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"rollbackRequested": True, "rollbackRequestedBy": "alice"}, "alice"),  # the approver, not carol
        ({"rollbackRequested": True}, ""),  # nobody named: the audit could not say who
    ],
)
def test_rollback_requested_by_must_be_the_requester(
    policy: AdmissionPolicy, spec: dict[str, Any], named: str
) -> None:
    verdict = policy.admit(request("carol", "UPDATE", rr(**APPROVED, **spec), rr(**APPROVED)))
    assert denied(verdict, f'spec.rollbackRequestedBy must be the requesting user (carol), not "{named}"')


def test_renaming_the_rollback_requester_counts_as_requesting(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(
        request(
            "bob",
            "UPDATE",
            rr(**ROLLBACK, rollbackRequestedBy="bob"),
            rr(**ROLLBACK, rollbackRequestedBy="carol"),
        )
    )
    assert denied(verdict, "user bob may not request a rollback")


# An approved proposal is frozen -------------------------------------------------------------------


def _bigger(obj: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    changed["spec"]["containers"][0]["proposed"]["limits"]["memory"] = "8Gi"
    return changed


def test_an_approved_proposal_is_immutable(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "UPDATE", _bigger(rr(**APPROVED)), rr(**APPROVED)))
    assert denied(verdict, "an approved recommendation is immutable")
    retarget = rr(
        approved=True,
        approvedBy="alice",
        target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments"},
    )
    assert denied(policy.admit(request("root", "UPDATE", retarget, rr(**APPROVED))), "immutable")


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "rewritten after the review"},
        {"evidence": {"source": "manual", "strategy": "simple"}},
        {"autoRollback": False},
        {"rolloutTimeoutSeconds": 86400},
        {"expiresAt": "2099-01-01T00:00:00Z"},
    ],
)
def test_an_approved_recommendation_is_frozen_but_for_a_rollback_request(
    policy: AdmissionPolicy, change: dict[str, Any]
) -> None:
    # What the reviewer read (reason, evidence) and how the change runs stay as approved; "dave", who
    # may patch but not approve, cannot switch auto-rollback off behind the approver's back either.
    for user in ("alice", "dave"):
        verdict = policy.admit(request(user, "UPDATE", rr(**APPROVED, **change), rr(**APPROVED)))
        assert denied(verdict, "an approved recommendation is immutable"), (user, change)


def test_an_unapproved_proposal_can_still_change(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(request("alice", "UPDATE", _bigger(rr()), rr()))
    assert verdict.matched and verdict.allowed, verdict.messages


def test_rejecting_needs_no_approve_verb(policy: AdmissionPolicy) -> None:
    # Who may patch at all is RBAC's call; the policy only guards approvals and rollbacks.
    verdict = policy.admit(request("bob", "UPDATE", rr(rejected=True), rr()))
    assert verdict.matched and verdict.allowed, verdict.messages


# What the policy does not look at -----------------------------------------------------------------


def test_metadata_only_updates_are_not_matched(policy: AdmissionPolicy) -> None:
    old = rr(**APPROVED)
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["kopf.zalando.org/KopfFinalizerMarker"]
    verdict = policy.admit(request(OPERATOR, "UPDATE", new, old))
    assert not verdict.matched and verdict.allowed


def test_status_writes_are_not_matched(policy: AdmissionPolicy) -> None:
    old = rr(**APPROVED)
    new = _bigger(old)  # would be refused on the main resource
    verdict = policy.admit(request(OPERATOR, "UPDATE", new, old, sub_resource="status"))
    assert not verdict.matched and verdict.allowed


def test_the_bridge_is_recognised_in_any_install_namespace(policy: AdmissionPolicy) -> None:
    elsewhere = "system:serviceaccount:platform-tools:krr-mcp-bridge"
    verdict = policy.admit(request(elsewhere, "CREATE", rr(approved=True, approvedBy=elsewhere)))
    assert denied(verdict, "the krr-mcp bridge cannot approve")
    lookalike = "system:serviceaccount:shop:krr-mcp-bridge-helper"  # not the bridge: judged as a user
    verdict = policy.admit(request(lookalike, "CREATE", rr()))
    assert verdict.allowed, verdict.messages


# An approval approves exactly what was reviewed (issue 15, item 3) --------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        _bigger,
        lambda o: {**o, "spec": {**o["spec"], "target": {**o["spec"]["target"], "name": "payments"}}},
        lambda o: {**o, "spec": {**o["spec"], "reason": "looks fine"}},
        lambda o: {**o, "spec": {**o["spec"], "autoRollback": False}},
        lambda o: {**o, "spec": {**o["spec"], "expiresAt": "2099-01-01T00:00:00Z"}},
    ],
    ids=["bigger-limit", "retarget", "reason", "auto-rollback-off", "expiry"],
)
def test_approve_and_edit_in_one_request_is_refused(policy: AdmissionPolicy, edit: Any) -> None:
    # One PATCH that sets approved and changes the proposal: the approver never reviewed the result.
    for user in ("alice", "root"):
        verdict = policy.admit(request(user, "UPDATE", edit(rr(approved=True, approvedBy=user)), rr()))
        assert denied(verdict, "an approval changes only spec.approved and spec.approvedBy"), user


def test_approving_and_requesting_a_rollback_at_once_is_refused(policy: AdmissionPolicy) -> None:
    both = rr(**ROLLBACK, rollbackRequestedBy="alice")
    assert denied(policy.admit(request("alice", "UPDATE", both, rr())), "an approval changes only")


def test_editing_then_approving_in_two_requests_is_allowed(policy: AdmissionPolicy) -> None:
    edited = _bigger(rr())
    assert policy.admit(request("alice", "UPDATE", edited, rr())).allowed
    approving = copy.deepcopy(edited)
    approving["spec"].update(approved=True, approvedBy="alice")
    verdict = policy.admit(request("alice", "UPDATE", approving, edited))
    assert verdict.allowed, verdict.messages


def test_the_policy_compares_every_spec_field() -> None:
    # sameProposal must name every field but the four decision fields, or a new field could be
    # changed in the approving request (or after approval) unseen.
    variables = {v["name"]: v["expression"] for v in load_documents()[0]["spec"]["variables"]}
    compared = set(re.findall(r"\bobject\.spec\.(\w+)", variables["sameProposal"]))
    decisions = {"approved", "approvedBy", "rollbackRequested", "rollbackRequestedBy"}
    assert compared == set(ResourceRecommendationSpec.model_fields) - decisions


# A ServiceAccount is not a person (issue 15, item 4) ----------------------------------------------


def test_a_service_account_with_edit_cannot_approve(policy: AdmissionPolicy) -> None:
    # ci-deployer holds the built-in edit role, which aggregates `approve`: RBAC alone lets it.
    verdict = policy.admit(request(CI_DEPLOYER, "UPDATE", rr(approved=True, approvedBy=CI_DEPLOYER), rr()))
    assert denied(verdict, f"user {CI_DEPLOYER} is a ServiceAccount, not a person")
    assert not any("may not approve resourcerecommendations" in m for m in verdict.messages)  # RBAC: yes


def test_a_service_account_with_edit_cannot_request_a_rollback(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(
        request(CI_DEPLOYER, "UPDATE", rr(**ROLLBACK, rollbackRequestedBy=CI_DEPLOYER), rr(**APPROVED))
    )
    assert denied(verdict, "is a ServiceAccount, not a person")


def test_an_impersonated_service_account_name_without_its_groups_is_still_one(
    policy: AdmissionPolicy,
) -> None:
    verdict = policy.admit(
        request(
            CI_DEPLOYER,
            "UPDATE",
            rr(approved=True, approvedBy=CI_DEPLOYER),
            rr(),
            groups=["system:authenticated"],
        )
    )
    assert denied(verdict, "is a ServiceAccount, not a person")


def _namespace(robots: str | None) -> dict[str, Any]:
    annotations = {ROBOT_APPROVERS: robots} if robots is not None else {}
    return {"metadata": {"name": "shop", "annotations": annotations}}


@pytest.mark.parametrize("robots", [CI_DEPLOYER, f"system:serviceaccount:ci:other, {CI_DEPLOYER}"])
def test_a_named_robot_approver_may_approve(policy: AdmissionPolicy, robots: str) -> None:
    verdict = policy.admit(
        request(CI_DEPLOYER, "UPDATE", rr(approved=True, approvedBy=CI_DEPLOYER), rr()),
        namespace=_namespace(robots),
    )
    assert verdict.allowed, verdict.messages
    assert verdict.audit_annotations == {"approved-by": CI_DEPLOYER}
    rollback = request(
        CI_DEPLOYER,
        "UPDATE",
        rr(approved=True, approvedBy=CI_DEPLOYER, rollbackRequested=True, rollbackRequestedBy=CI_DEPLOYER),
        rr(approved=True, approvedBy=CI_DEPLOYER),
    )
    assert policy.admit(rollback, namespace=_namespace(robots)).allowed


@pytest.mark.parametrize(
    "robots",
    [
        "",
        "system:serviceaccount:shop:ci",
        "system:serviceaccount:shop:ci-deployer-2",
        "*",
        "system:serviceaccounts",
    ],
)
def test_the_robot_allow_list_names_exact_users(policy: AdmissionPolicy, robots: str) -> None:
    verdict = policy.admit(
        request(CI_DEPLOYER, "UPDATE", rr(approved=True, approvedBy=CI_DEPLOYER), rr()),
        namespace=_namespace(robots),
    )
    assert denied(verdict, "is a ServiceAccount, not a person")


def test_a_named_robot_still_needs_the_approve_verb_and_its_own_name(policy: AdmissionPolicy) -> None:
    robot = "system:serviceaccount:shop:release-bot"  # no RBAC binding at all
    ns = _namespace(f"{robot},{CI_DEPLOYER}")
    verdict = policy.admit(request(robot, "UPDATE", rr(approved=True, approvedBy=robot), rr()), namespace=ns)
    assert denied(verdict, f"user {robot} may not approve")
    verdict = policy.admit(request(CI_DEPLOYER, "UPDATE", rr(**APPROVED), rr()), namespace=ns)
    assert denied(verdict, "spec.approvedBy must be the approving user")


@pytest.mark.parametrize("user", [BRIDGE, OPERATOR])
def test_naming_krr_mcp_itself_as_a_robot_approver_does_not_help(policy: AdmissionPolicy, user: str) -> None:
    verdict = policy.admit(
        request(user, "UPDATE", rr(approved=True, approvedBy=user), rr()),
        namespace=_namespace(f"{BRIDGE},{OPERATOR}"),
    )
    assert not verdict.allowed


def test_a_robot_allowed_in_one_namespace_is_not_allowed_in_another(policy: AdmissionPolicy) -> None:
    other = {"metadata": {"name": "payments", "annotations": {}}}
    obj = rr("payments", approved=True, approvedBy=CI_DEPLOYER)
    verdict = policy.admit(request(CI_DEPLOYER, "UPDATE", obj, rr("payments")), namespace=other)
    assert denied(verdict, "is a ServiceAccount, not a person")


def test_a_service_account_may_still_propose_and_reject(policy: AdmissionPolicy) -> None:
    # Only approvals and rollback requests need a person.
    assert policy.admit(request(CI_DEPLOYER, "CREATE", rr())).allowed
    assert policy.admit(request(CI_DEPLOYER, "UPDATE", rr(rejected=True), rr())).allowed


# The operator never writes spec (issue 15, item 8) ------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        lambda o: _bigger(o),
        lambda o: {**o, "spec": {**o["spec"], "reason": "x"}},
        lambda o: {**o, "spec": {**o["spec"], "rejected": True, "approved": False}},
        lambda o: {**o, "spec": {**o["spec"], "rollbackRequested": True, "rollbackRequestedBy": "alice"}},
    ],
    ids=["values", "reason", "reject", "rollback"],
)
def test_the_operator_cannot_change_spec(policy: AdmissionPolicy, edit: Any) -> None:
    for old in (rr(), rr(**APPROVED)):
        verdict = policy.admit(request(OPERATOR, "UPDATE", edit(copy.deepcopy(old)), old))
        assert denied(verdict, "the krr-mcp operator never writes a recommendation's spec")
    elsewhere = "system:serviceaccount:platform:krr-mcp-operator"
    verdict = policy.admit(request(elsewhere, "UPDATE", _bigger(rr()), rr()))
    assert denied(verdict, "the krr-mcp operator never writes")


def test_the_operator_cannot_create(policy: AdmissionPolicy) -> None:
    assert denied(policy.admit(request(OPERATOR, "CREATE", rr())), "the krr-mcp operator never writes")


def test_the_operator_still_writes_metadata_and_status(policy: AdmissionPolicy) -> None:
    old = rr(**APPROVED)
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {"kopf.zalando.org/last-handled-configuration": "{}"}
    assert not policy.admit(request(OPERATOR, "UPDATE", new, old)).matched
    status = copy.deepcopy(old)
    status["status"] = {"phase": "Applied"}
    assert not policy.admit(request(OPERATOR, "UPDATE", status, old, sub_resource="status")).matched
