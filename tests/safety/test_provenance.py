"""approval_provenance_problem: an approval the operator can see was not made on a human path."""

from __future__ import annotations

from typing import Any

import pytest

from krr_mcp.core.safety import approval_provenance_problem

from ..builders import rr

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


HUMAN_APPROVAL = {"approved": True, "approvedBy": "alice@example.com"}


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        # the normal path: the bridge created it, a human patched approval (an Update moves ownership of
        # the changed fields to the patching manager, so the bridge's entry no longer lists them)
        (
            rr(
                "web-1",
                managed_fields=[
                    managed("krr-mcp-bridge", "target", "containers", "reason"),
                    managed("kubectl-patch", "approved", "approvedBy"),
                ],
                **HUMAN_APPROVAL,
            ),
            None,
        ),
        # co-owned: a server-side apply by the bridge with the same value still lists it: refused
        (
            rr(
                "web-1",
                managed_fields=[
                    managed("krr-mcp-bridge", "approved", operation="Apply"),
                    managed("kubectl", "approved"),
                ],
                **HUMAN_APPROVAL,
            ),
            "wrote spec.approved",
        ),
        # not approved: nothing to check
        (rr("web-1", managed_fields=[managed("krr-mcp-bridge", "approved")], approved=False), None),
        (rr("web-1", approved=True, approvedBy=None), "approvedBy is empty"),
        (rr("web-1", approved=True, approvedBy="  "), "approvedBy is empty"),
        (rr("web-1", approved=True, approvedBy=BRIDGE_SA), "a krr-mcp ServiceAccount"),
        (
            rr("web-1", approved=True, approvedBy="system:serviceaccount:tools:krr-mcp-bridge"),
            "ServiceAccount",
        ),
        (
            rr("web-1", approved=True, approvedBy="system:serviceaccount:krr-mcp-system:krr-mcp-operator"),
            "ServiceAccount",
        ),
        (
            rr(
                "web-1",
                managed_fields=[managed("krr-mcp-bridge", "target", "approved", "approvedBy")],
                **HUMAN_APPROVAL,
            ),
            "wrote spec.approved, spec.approvedBy",
        ),
        (
            rr(
                "web-1",
                managed_fields=[managed("krr-mcp-bridge", "approved", operation="Apply")],
                **HUMAN_APPROVAL,
            ),
            "wrote spec.approved",
        ),
        (
            rr(
                "web-1",
                managed_fields=[managed("krr-mcp-bridge", "rollbackRequested")],
                rollbackRequested=True,
                **HUMAN_APPROVAL,
            ),
            "wrote spec.rollbackRequested",
        ),
        # the rollback flag set by a human
        (
            rr(
                "web-1",
                managed_fields=[managed("kubectl-patch", "rollbackRequested")],
                rollbackRequested=True,
                **HUMAN_APPROVAL,
            ),
            None,
        ),
        # a rollback asked in the name of krr-mcp itself, or a requester written by the bridge
        (
            rr("web-1", rollbackRequested=True, rollbackRequestedBy=BRIDGE_SA, **HUMAN_APPROVAL),
            "spec.rollbackRequestedBy is system:serviceaccount:krr-mcp-system:krr-mcp-bridge",
        ),
        (
            rr(
                "web-1",
                managed_fields=[managed("krr-mcp-bridge", "rollbackRequestedBy")],
                rollbackRequested=True,
                rollbackRequestedBy="bob",
                **HUMAN_APPROVAL,
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
    obj = rr("web-1", managed_fields=[managed("my-bridge", "approved")], **HUMAN_APPROVAL)
    assert approval_provenance_problem(obj) is None
    assert "my-bridge" in (approval_provenance_problem(obj, bridge_field_manager="my-bridge") or "")
