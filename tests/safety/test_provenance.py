"""approval_provenance_problem: an approval the operator can see was not made on a human path."""

from __future__ import annotations

from typing import Any

import pytest

from krr_mcp.core.safety import approval_provenance_problem

BRIDGE_SA = "system:serviceaccount:krr-mcp-system:krr-mcp-bridge"


def managed(manager: str, *fields: str, operation: str = "Update") -> dict[str, Any]:
    spec: dict[str, Any] = {f"f:{name}": {} for name in fields}
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "krr-mcp.io/v1alpha1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": spec},
    }


def rr(spec: dict[str, Any], *entries: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web-1", "managedFields": list(entries)}, "spec": spec}


HUMAN_APPROVAL = {"approved": True, "approvedBy": "alice@example.com"}


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        # the normal path: the bridge created it, a human patched approval (an Update moves ownership of
        # the changed fields to the patching manager, so the bridge's entry no longer lists them)
        (
            rr(
                HUMAN_APPROVAL,
                managed("krr-mcp-bridge", "target", "containers", "reason"),
                managed("kubectl-patch", "approved", "approvedBy"),
            ),
            None,
        ),
        # co-owned: a server-side apply by the bridge with the same value still lists it: refused
        (
            rr(
                HUMAN_APPROVAL,
                managed("krr-mcp-bridge", "approved", operation="Apply"),
                managed("kubectl", "approved"),
            ),
            "wrote spec.approved",
        ),
        # not approved: nothing to check
        (rr({"approved": False}, managed("krr-mcp-bridge", "approved")), None),
        (rr({"approved": True}), "approvedBy is empty"),
        (rr({"approved": True, "approvedBy": "  "}), "approvedBy is empty"),
        (rr({"approved": True, "approvedBy": BRIDGE_SA}), "a krr-mcp ServiceAccount"),
        (
            rr({"approved": True, "approvedBy": "system:serviceaccount:tools:krr-mcp-bridge"}),
            "ServiceAccount",
        ),
        (
            rr({"approved": True, "approvedBy": "system:serviceaccount:krr-mcp-system:krr-mcp-operator"}),
            "ServiceAccount",
        ),
        (
            rr(HUMAN_APPROVAL, managed("krr-mcp-bridge", "target", "approved", "approvedBy")),
            "wrote spec.approved, spec.approvedBy",
        ),
        (rr(HUMAN_APPROVAL, managed("krr-mcp-bridge", "approved", operation="Apply")), "wrote spec.approved"),
        (
            rr({**HUMAN_APPROVAL, "rollbackRequested": True}, managed("krr-mcp-bridge", "rollbackRequested")),
            "wrote spec.rollbackRequested",
        ),
        # the rollback flag set by a human
        (
            rr({**HUMAN_APPROVAL, "rollbackRequested": True}, managed("kubectl-patch", "rollbackRequested")),
            None,
        ),
        # a rollback asked in the name of krr-mcp itself, or a requester written by the bridge
        (
            rr({**HUMAN_APPROVAL, "rollbackRequested": True, "rollbackRequestedBy": BRIDGE_SA}),
            "spec.rollbackRequestedBy is system:serviceaccount:krr-mcp-system:krr-mcp-bridge",
        ),
        (
            rr(
                {**HUMAN_APPROVAL, "rollbackRequested": True, "rollbackRequestedBy": "bob"},
                managed("krr-mcp-bridge", "rollbackRequestedBy"),
            ),
            "wrote spec.rollbackRequestedBy",
        ),
    ],
)
def test_provenance(obj: dict[str, Any], problem: str | None) -> None:
    found = approval_provenance_problem(obj)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_the_bridge_field_manager_is_a_parameter() -> None:
    obj = rr(HUMAN_APPROVAL, managed("my-bridge", "approved"))
    assert approval_provenance_problem(obj) is None
    assert "my-bridge" in (approval_provenance_problem(obj, bridge_field_manager="my-bridge") or "")
