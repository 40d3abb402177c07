"""Issue 15 item 5, pure: approvals are applied only while the approval admission policy is installed,
fails closed and a binding denies in every namespace; waiting RRs say why not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from krr_operator.approval_gate import APPROVAL_POLICY, ApprovalGate, approval_gate_problem
from krr_operator.audit import APPROVALS_ENFORCED, next_status

from krr_mcp.api.resource_recommendation import SafetyReport
from krr_mcp.core.decisions import DecisionInputs, decide

from ..builders import rr, workload

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    d
    for d in yaml.safe_load_all((ROOT / "config/admission/recommendation_approval_policy.yaml").read_text())
    if d
]
POLICY = next(d for d in SHIPPED if d["kind"] == "ValidatingAdmissionPolicy")
BINDING = next(d for d in SHIPPED if d["kind"] == "ValidatingAdmissionPolicyBinding")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SAFE = SafetyReport(allowed=True, risk="low")


def binding(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "b"}, "spec": {"policyName": APPROVAL_POLICY, **spec}}


def test_the_shipped_policy_and_binding_open_the_gate() -> None:
    assert POLICY["metadata"]["name"] == APPROVAL_POLICY
    assert approval_gate_problem(POLICY, [BINDING]) is None


@pytest.mark.parametrize(
    ("policy", "bindings", "says"),
    [
        (None, [BINDING], "is not installed"),
        (POLICY, [], "no ValidatingAdmissionPolicyBinding binds"),
        (POLICY, [binding(policyName="something-else")], "no ValidatingAdmissionPolicyBinding binds"),
        (POLICY, [binding(validationActions=["Warn", "Audit"])], "no binding of"),
        (POLICY, [binding(validationActions=[])], "no binding of"),
        (
            POLICY,
            [
                binding(
                    validationActions=["Deny"],
                    matchResources={"namespaceSelector": {"matchLabels": {"a": "b"}}},
                )
            ],
            "limited by matchResources",
        ),
        (
            {**POLICY, "spec": {**POLICY["spec"], "failurePolicy": "Ignore"}},
            [BINDING],
            "failurePolicy Ignore",
        ),
    ],
    ids=[
        "no policy",
        "no binding",
        "another policy's binding",
        "warn only",
        "no actions",
        "scoped",
        "ignore",
    ],
)
def test_anything_less_closes_the_gate(policy: dict[str, Any] | None, bindings: list[Any], says: str) -> None:
    problem = approval_gate_problem(policy, bindings)
    assert problem is not None and says in problem


def test_the_gate_is_closed_until_checked_unless_not_required() -> None:
    assert ApprovalGate().current() is not None
    assert "--allow-without-admission-policy" in (ApprovalGate().current() or "")
    assert ApprovalGate(required=False).current() is None


def test_an_approval_while_the_gate_is_closed_is_refused_for_good() -> None:
    problem = ApprovalGate().current()
    decision = decide(
        DecisionInputs(rr(approved=True), workload(), NOW, safety=SAFE, approval_gate_problem=problem)
    )
    assert (decision.action, decision.phase, decision.reason) == ("refuse", "Failed", "ApprovalPolicyMissing")
    assert not decision.changes
    # Final: the gate opening later does not revive it (Failed with a pinned approval is settled).
    later = rr(approved=True, status={"phase": "Failed", "approval": {"specDigest": "x"}})
    assert decide(DecisionInputs(later, workload(), NOW, safety=SAFE)).reason != "Approved"


def test_a_waiting_rr_carries_a_condition_saying_why() -> None:
    problem = ApprovalGate().current()
    waiting = decide(DecisionInputs(rr(), workload(), NOW, safety=SAFE, approval_gate_problem=problem))
    assert waiting.action == "wait" and waiting.approval_gate == problem
    status = next_status({}, waiting, NOW, 1)
    (condition,) = [c for c in status["conditions"] if c["type"] == APPROVALS_ENFORCED]
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "ApprovalPolicyMissing",
        problem,
    )
    opened = next_status(status, decide(DecisionInputs(rr(), workload(), NOW, safety=SAFE)), NOW, 1)
    (condition,) = [c for c in opened["conditions"] if c["type"] == APPROVALS_ENFORCED]
    assert (condition["status"], condition["reason"]) == ("True", "ApprovalPolicyEnforced")
    assert not [
        c
        for c in next_status({}, decide(DecisionInputs(rr(), workload(), NOW, safety=SAFE)), NOW, 1)[
            "conditions"
        ]
        if c["type"] == APPROVALS_ENFORCED
    ]  # never mentioned where approvals were always enforced
