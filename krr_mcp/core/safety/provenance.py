"""Was an approval (or rollback request) made on a human path? Read from the RR as the API returns it."""

from __future__ import annotations

import re
from typing import Any

from krr_mcp.api.names import BRIDGE_NAME, OPERATOR_NAME, service_account_user

BRIDGE_SERVICE_ACCOUNT = service_account_user(BRIDGE_NAME)
OPERATOR_SERVICE_ACCOUNT = service_account_user(OPERATOR_NAME)
# The bridge's and the operator's ServiceAccounts, in whichever namespace krr-mcp is installed.
_MACHINE_USER = re.compile(
    rf"^system:serviceaccount:[^:]+:({re.escape(BRIDGE_NAME)}|{re.escape(OPERATOR_NAME)})$"
)
_HUMAN_ONLY_FIELDS = ("approved", "approvedBy", "rollbackRequested", "rollbackRequestedBy")


def _owned_spec_fields(entry: dict[str, Any]) -> set[str]:
    spec = (entry.get("fieldsV1") or {}).get("f:spec") or {}
    return {key[2:] for key in spec if key.startswith("f:")}


def approval_provenance_problem(rr: dict[str, Any], bridge_field_manager: str = BRIDGE_NAME) -> str | None:
    """Why the RR's approval (or rollback request) did not come from a human path, else None.

    Problems: approved without `approvedBy`; `approvedBy` (or, for a rollback, `rollbackRequestedBy`)
    naming the bridge's or the operator's ServiceAccount; managedFields showing `bridge_field_manager`
    owning spec.approved, spec.approvedBy, spec.rollbackRequested or spec.rollbackRequestedBy (a
    human's kubectl patch takes those fields over from the creator, so the bridge still owning one
    means the bridge set it). An RR that is neither
    approved nor asking for a rollback has no approval to check: None.
    """
    spec = rr.get("spec")
    if not isinstance(spec, dict):
        return None  # no readable approval at all; the decision refuses the unreadable spec itself
    approved, rollback = bool(spec.get("approved")), bool(spec.get("rollbackRequested"))
    if not approved and not rollback:
        return None
    approver = str(spec.get("approvedBy") or "").strip()
    if not approver:
        return "spec.approved is set but spec.approvedBy is empty: no human is named as the approver"
    if _MACHINE_USER.match(approver):
        return f"spec.approvedBy is {approver}, a krr-mcp ServiceAccount, not a human"
    requester = str(spec.get("rollbackRequestedBy") or "").strip()
    if rollback and _MACHINE_USER.match(requester):
        return f"spec.rollbackRequestedBy is {requester}, a krr-mcp ServiceAccount, not a human"
    for entry in (rr.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") != bridge_field_manager:
            continue
        owned = _owned_spec_fields(entry)
        set_fields = [f for f in _HUMAN_ONLY_FIELDS if f in owned and spec.get(f)]
        if set_fields:
            fields = ", ".join(f"spec.{f}" for f in set_fields)
            return f"managedFields show field manager {bridge_field_manager!r} wrote {fields}"
    return None
