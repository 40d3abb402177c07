"""Pure decisions of the human verbs: may this RR be approved / rejected / rolled back, and the patch.

Each function takes the RR as read (a dict from the API server) and returns the ONE merge patch to
send, or raises Refused saying why not. The patch carries `metadata.resourceVersion`, so the API
server refuses it (409) when the RR changed after it was read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .errors import Refused

APPROVABLE_PHASES = {None, "", "Proposed"}
REJECTABLE_PHASES = {None, "", "Proposed", "Stale", "Expired"}
ROLLBACKABLE_PHASES = {"Applied", "Failed"}
REJECTED_BY = "krr-mcp.io/rejected-by"


def _phase(rr: dict[str, Any]) -> str | None:
    return (rr.get("status") or {}).get("phase")


def _name(rr: dict[str, Any]) -> str:
    meta = rr.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _precondition(rr: dict[str, Any], pinned: str | None) -> dict[str, Any]:
    current = (rr.get("metadata") or {}).get("resourceVersion")
    if pinned is not None and pinned != current:
        raise Refused(
            f"{_name(rr)} changed since you reviewed it (you saw resourceVersion {pinned}, it is now "
            f"{current}); review it again"
        )
    return {"resourceVersion": current}


def approve_patch(rr: dict[str, Any], user: str, now: datetime, pinned_version: str | None = None) -> dict:
    """The patch that approves `rr` as `user`; Refused when it is not a pending, unexpired proposal."""
    spec = rr.get("spec") or {}
    if spec.get("approved"):
        raise Refused(f"{_name(rr)} is already approved (by {spec.get('approvedBy') or 'unknown'})")
    if spec.get("rejected"):
        raise Refused(f"{_name(rr)} was rejected; a rejection is final")
    phase = _phase(rr)
    if phase not in APPROVABLE_PHASES:
        raise Refused(f"{_name(rr)} is {phase}; only a Proposed recommendation can be approved")
    expires = _parse_time(spec.get("expiresAt"))
    if expires is not None and expires <= now.astimezone(UTC):
        raise Refused(f"{_name(rr)} expired at {spec['expiresAt']}")
    safety = (rr.get("status") or {}).get("safety") or {}
    if safety.get("allowed") is False:
        refusals = [f["message"] for f in safety.get("findings") or [] if f.get("severity") == "refuse"]
        raise Refused(f"{_name(rr)} is refused by the safety rules: {'; '.join(refusals) or 'see show'}")
    metadata = _precondition(rr, pinned_version)
    return {"metadata": metadata, "spec": {"approved": True, "approvedBy": user}}


def reject_patch(rr: dict[str, Any], user: str, pinned_version: str | None = None) -> dict:
    """The patch that rejects `rr` for good; Refused once it was approved or already rejected."""
    spec = rr.get("spec") or {}
    if spec.get("rejected"):
        raise Refused(f"{_name(rr)} is already rejected")
    if spec.get("approved"):
        raise Refused(f"{_name(rr)} is already approved; ask for a rollback instead (kubectl krr rollback)")
    phase = _phase(rr)
    if phase not in REJECTABLE_PHASES:
        raise Refused(f"{_name(rr)} is {phase}; there is nothing to reject")
    metadata = _precondition(rr, pinned_version)
    metadata["annotations"] = {REJECTED_BY: user}
    return {"metadata": metadata, "spec": {"rejected": True}}


def rollback_patch(rr: dict[str, Any], user: str, pinned_version: str | None = None) -> dict:
    """The patch that asks the operator to restore the prior resources of an applied RR, naming `user`
    in spec.rollbackRequestedBy (the admission policy checks it is the requester; the audit names it)."""
    spec = rr.get("spec") or {}
    if spec.get("rollbackRequested"):
        raise Refused(f"{_name(rr)} already has a rollback requested (phase {_phase(rr)})")
    phase = _phase(rr)
    if not spec.get("approved") or phase not in ROLLBACKABLE_PHASES:
        raise Refused(
            f"{_name(rr)} is {phase or 'Proposed'}; only an Applied (or Failed) change can be rolled back"
        )
    history = (rr.get("status") or {}).get("history") or []
    if not any(entry.get("action") == "apply" for entry in history):
        raise Refused(f"{_name(rr)} has no applied change in its history; nothing to roll back")
    metadata = _precondition(rr, pinned_version)
    return {"metadata": metadata, "spec": {"rollbackRequested": True, "rollbackRequestedBy": user}}
