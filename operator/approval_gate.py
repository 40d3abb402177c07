"""Fail closed without the approval admission policy (issue 15 item 5).

The operator's own provenance check reads who wrote `spec.approved` from managedFields, whose manager
name the writer chooses: it cannot tell a person from a stolen bridge token. Only the API server can,
with the admission policy `krr-mcp-recommendation-approval` (the `approve` verb, approvedBy == the
requester, no ServiceAccounts). So the operator applies approvals only while that policy and a binding
with `validationActions: [Deny, ...]` are installed: `approval_gate_problem` (pure) says why not, and
`ApprovalGate` keeps the answer fresh (read at start-up and every `interval` seconds). With
`--allow-without-admission-policy` (clusters that cannot run admission policies) it is not checked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from krr_mcp.kube.client import Kube, KubeError

APPROVAL_POLICY = "krr-mcp-recommendation-approval"
POLICY_PATH = f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{APPROVAL_POLICY}"
BINDINGS_PATH = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
FLAG = "--allow-without-admission-policy"
NOT_CHECKED = "the approval admission policy has not been checked yet"


def approval_gate_problem(policy: dict[str, Any] | None, bindings: list[dict[str, Any]]) -> str | None:
    """Why approvals cannot be trusted on this cluster (None: the policy is installed, fails closed and a
    binding denies for every namespace). `policy` is the ValidatingAdmissionPolicy as served (None:
    absent), `bindings` every ValidatingAdmissionPolicyBinding."""
    if policy is None:
        return f"the ValidatingAdmissionPolicy {APPROVAL_POLICY} is not installed"
    failure = (policy.get("spec") or {}).get("failurePolicy") or "Fail"
    if failure != "Fail":
        return f"the ValidatingAdmissionPolicy {APPROVAL_POLICY} has failurePolicy {failure}, not Fail"
    ours = [b for b in bindings if (b.get("spec") or {}).get("policyName") == APPROVAL_POLICY]
    if not ours:
        return f"no ValidatingAdmissionPolicyBinding binds {APPROVAL_POLICY}"
    for binding in ours:
        spec = binding.get("spec") or {}
        if "Deny" in (spec.get("validationActions") or []) and not spec.get("matchResources"):
            return None
    names = ", ".join(
        f"{(b.get('metadata') or {}).get('name')} (validationActions "
        f"{(b.get('spec') or {}).get('validationActions') or []}"
        f"{', limited by matchResources' if (b.get('spec') or {}).get('matchResources') else ''})"
        for b in ours
    )
    return f"no binding of {APPROVAL_POLICY} denies in every namespace: {names}"


@dataclass
class ApprovalGate:
    """The last answer of `approval_gate_problem` for the cluster (`required=False`: never checked)."""

    required: bool = True
    problem: str | None = NOT_CHECKED
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.required:
            self.problem = None

    def current(self) -> str | None:
        """Why approvals must not be applied now, with what to do about it; None when they may be."""
        with self._lock:
            problem = self.problem
        if problem is None:
            return None
        return (
            f"{problem}: without it the API server does not verify who approves, so approvals are not "
            f"applied (install config/admission, or run the operator with {FLAG} where admission "
            "policies cannot run)"
        )

    def refresh(self, kube: Kube) -> str | None:
        """Read the policy and its bindings now; the new problem (a read that fails is one too)."""
        if not self.required:
            return None
        try:
            policy = kube.get_optional("get approval admission policy", POLICY_PATH)
            bindings = kube.list_items("list admission policy bindings", BINDINGS_PATH)
            problem = approval_gate_problem(policy, bindings)
        except KubeError as exc:
            problem = f"the approval admission policy cannot be read ({exc})"
        with self._lock:
            self.problem = problem
        return problem
