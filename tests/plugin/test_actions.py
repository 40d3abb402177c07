"""The human verbs' decisions: what may be approved, rejected, rolled back, and the one patch sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from krr_mcp.kubectl_plugin.actions import approve_patch, reject_patch, rollback_patch
from krr_mcp.kubectl_plugin.errors import ExitCode, Refused

from ..builders import APPLY_ENTRY, bridge_rr

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_approve_is_one_patch_with_the_precondition() -> None:
    patch = approve_patch(bridge_rr(resource_version="42"), "bob", NOW)
    assert patch == {"metadata": {"resourceVersion": "42"}, "spec": {"approved": True, "approvedBy": "bob"}}


def test_approve_works_before_the_operator_wrote_a_status() -> None:
    assert approve_patch(bridge_rr(phase=None), "bob", NOW)["spec"]["approved"] is True


@pytest.mark.parametrize(
    ("rr", "why"),
    [
        (bridge_rr(approved=True, phase="Approved"), r"already approved \(by alice\)"),
        (bridge_rr(rejected=True, phase="Rejected"), "rejected"),
        (bridge_rr(phase="Stale"), "is Stale"),
        (bridge_rr(phase="Superseded"), "is Superseded"),
        (bridge_rr(expires_at="2026-11-25T09:59:59Z"), "expired at"),
        (
            bridge_rr(
                safety={
                    "allowed": False,
                    "risk": "critical",
                    "findings": [
                        {"rule": "floor", "severity": "refuse", "message": "below the memory floor"}
                    ],
                }
            ),
            "below the memory floor",
        ),
    ],
)
def test_approve_refuses(rr: dict, why: str) -> None:
    with pytest.raises(Refused, match=why) as info:
        approve_patch(rr, "bob", NOW)
    assert info.value.code is ExitCode.REFUSED


def test_approve_refuses_when_the_reviewed_version_is_not_the_current_one() -> None:
    with pytest.raises(Refused, match="you saw resourceVersion 5, it is now 7"):
        approve_patch(bridge_rr(resource_version="7"), "bob", NOW, pinned_version="5")
    assert (
        approve_patch(bridge_rr(resource_version="7"), "bob", NOW, "7")["metadata"]["resourceVersion"] == "7"
    )


def test_reject_records_who_and_refuses_after_approval() -> None:
    patch = reject_patch(bridge_rr(), "carol")
    assert patch["spec"] == {"rejected": True}
    assert patch["metadata"]["annotations"] == {"krr-mcp.io/rejected-by": "carol"}
    with pytest.raises(Refused, match="rollback instead"):
        reject_patch(bridge_rr(approved=True, phase="Applied"), "carol")
    with pytest.raises(Refused, match="already rejected"):
        reject_patch(bridge_rr(rejected=True, phase="Rejected"), "carol")


def test_rollback_only_for_an_applied_change() -> None:
    applied = bridge_rr(approved=True, phase="Applied", history=[APPLY_ENTRY])
    assert rollback_patch(applied, "dave")["spec"] == {
        "rollbackRequested": True,
        "rollbackRequestedBy": "dave",
    }
    with pytest.raises(Refused, match="only an Applied"):
        rollback_patch(bridge_rr(), "dave")
    with pytest.raises(Refused, match="already has a rollback"):
        rollback_patch(
            bridge_rr(approved=True, phase="RollingBack", history=[APPLY_ENTRY], rollback_requested=True),
            "dave",
        )
    with pytest.raises(Refused, match="no applied change"):
        rollback_patch(bridge_rr(approved=True, phase="Failed"), "dave")
