"""Issue 15 (items 1, 2, 8), pure: an approval is pinned to the spec that was approved and the workload
(uid) it was given on; nothing else is applied or rolled back, and forged history is never acted on."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from krr_mcp.api.policy import PolicySpec, ResourceBounds
from krr_mcp.api.resource_recommendation import (
    ResourceRecommendationSpec,
    SafetyReport,
)
from krr_mcp.core.decisions import Decision, DecisionInputs, approval_pin, approved_spec_digest, decide

from ..builders import rr, workload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SAFE = SafetyReport(allowed=True, risk="low")
ORIGINAL = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
PROPOSED = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}


def pinned(body: dict[str, Any], uid: str | None = "web-uid") -> dict[str, Any]:
    """`body` with the approval pin the operator records on first sight (spec as it is now)."""
    spec = ResourceRecommendationSpec.model_validate(body["spec"])
    pin: dict[str, Any] = {"specDigest": approved_spec_digest(spec)}
    if uid is not None:
        pin["workloadUid"] = uid
    out = copy.deepcopy(body)
    out.setdefault("status", {})["approval"] = pin
    return out


def applied(body: dict[str, Any], before: dict[str, Any] = ORIGINAL, uid: str = "web-uid") -> dict[str, Any]:
    """`body` (pinned) after the operator applied it: phase Applied, one Succeeded apply."""
    out = pinned(body)
    out["status"].update(
        phase="Applied",
        history=[
            {
                "action": "apply",
                "outcome": "Succeeded",
                "at": NOW.isoformat(),
                "actor": "alice",
                "containers": [{"name": "app", "before": before, "after": PROPOSED}],
                "workloadUid": uid,
            }
        ],
    )
    return out


def run(body: dict[str, Any], live: dict[str, Any] | None, **kwargs: Any) -> Decision:
    kwargs.setdefault("safety", SAFE)
    return decide(DecisionInputs(body, live, NOW, **kwargs))


def outcome(decision: Decision) -> tuple[str, str, str]:
    return (str(decision.action), str(decision.phase), decision.reason)


# -- item 1: Stale is final, an approval is for one workload ----------------------------------------


def test_the_pin_is_taken_from_the_live_workload_on_first_sight() -> None:
    pin = approval_pin(rr(approved=True), workload())
    assert pin is not None and pin.workloadUid == "web-uid" and pin.specDigest.startswith("sha256:")
    assert approval_pin(rr(approved=True), None) is not None  # approved for a missing workload: no uid
    assert approval_pin(rr(approved=True), None).workloadUid is None  # type: ignore[union-attr]
    assert approval_pin(rr(), workload()) is None  # nothing approved, nothing to pin


def test_a_recorded_pin_is_kept_whatever_the_workload_is_now() -> None:
    body = pinned(rr(approved=True), uid="first-uid")
    assert approval_pin(body, workload()).workloadUid == "first-uid"  # type: ignore[union-attr]


def test_stale_is_final_even_when_the_workload_is_back() -> None:
    body = pinned(rr(approved=True, status={"phase": "Stale", "observedGeneration": 1}))
    assert outcome(run(body, workload())) == ("noop", "Stale", "Settled")


def test_an_approval_given_while_the_workload_did_not_exist_never_applies_to_one_created_later() -> None:
    body = pinned(rr(approved=True, status={"phase": "Approved"}), uid=None)
    decision = run(body, workload())
    assert outcome(decision) == ("stale", "Stale", "WorkloadReplaced")
    assert "did not exist" in decision.message


def test_an_approval_never_applies_to_a_workload_created_again_under_the_same_name() -> None:
    body = pinned(rr(approved=True, status={"phase": "Approved"}), uid="the-deleted-one")
    assert outcome(run(body, workload())) == ("stale", "Stale", "WorkloadReplaced")


def test_a_pinned_approval_of_the_same_workload_applies() -> None:
    assert outcome(run(pinned(rr(approved=True)), workload())) == ("apply", "Applying", "Approved")


# -- item 2: the approved spec is pinned --------------------------------------------------------------


def _edited(body: dict[str, Any], edit: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    spec = out["spec"]
    if edit == "values":
        spec["containers"][0]["proposed"]["requests"]["cpu"] = "50m"
    elif edit == "target":
        spec["target"]["name"] = "payments"
    elif edit == "approver":
        spec["approvedBy"] = "mallory"
    elif edit == "approval withdrawn":
        spec["approved"] = False
        del spec["approvedBy"]
    return out


@pytest.mark.parametrize("edit", ["values", "target", "approver", "approval withdrawn"])
def test_a_spec_edited_after_the_approval_is_refused_before_any_change(edit: str) -> None:
    body = _edited(pinned(rr(approved=True)), edit)
    decision = run(body, workload(name=body["spec"]["target"]["name"]))
    assert outcome(decision) == ("refuse", "Failed", "ApprovedSpecChanged")
    assert not decision.changes


@pytest.mark.parametrize("edit", ["values", "target", "approver"])
def test_a_spec_edited_after_the_apply_is_never_rolled_back(edit: str) -> None:
    body = _edited(applied(rr(approved=True, rollbackRequested=True)), edit)
    decision = run(body, workload(name=body["spec"]["target"]["name"], containers={"app": PROPOSED}))
    assert outcome(decision) == ("refuse", "Failed", "ApprovedSpecChanged")


def test_a_refused_edit_stays_refused_when_the_spec_is_edited_back() -> None:
    body = pinned(rr(approved=True, generation=3))
    body["status"].update(phase="Failed", observedGeneration=2)  # refused at generation 2, edited back at 3
    assert outcome(run(body, workload())) == ("noop", "Failed", "Settled")


def test_defaults_added_by_the_server_do_not_change_the_digest() -> None:
    bare = ResourceRecommendationSpec.model_validate(rr(approved=True)["spec"])
    spelled = rr(approved=True, autoRollback=True, rejected=False, rollbackRequested=True)
    spelled["spec"]["containers"][0]["usage"] = None
    assert approved_spec_digest(bare) == approved_spec_digest(
        ResourceRecommendationSpec.model_validate(spelled["spec"])
    )


# -- item 8: rollback acts only on the operator's own, approved changes --------------------------------

FORGED = {"requests": {"cpu": "90000", "memory": "900Ti"}}


def test_forged_history_on_an_unapproved_rr_is_never_followed_or_rolled_back() -> None:
    body = rr(status={"phase": "Applying"})
    body["status"]["history"] = applied(rr(approved=True), before=FORGED)["status"]["history"]
    decision = run(body, workload(containers={"app": PROPOSED}))
    assert outcome(decision) == ("refuse", "Failed", "UnapprovedHistory")
    assert not decision.changes


def test_a_forged_history_entry_is_not_auto_rolled_back_on_an_unapproved_rr() -> None:
    body = rr(status={"phase": "Applying"}, autoRollback=True)
    body["status"]["history"] = applied(rr(approved=True))["status"]["history"]
    body["status"]["history"][0]["at"] = "2020-01-01T00:00:00Z"  # long overdue: auto-rollback would fire
    assert outcome(run(body, workload(containers={"app": PROPOSED}))) == (
        "refuse",
        "Failed",
        "UnapprovedHistory",
    )


def test_a_rollback_never_writes_values_above_the_policy_ceilings() -> None:
    body = applied(rr(approved=True, rollbackRequested=True), before=FORGED)
    decision = run(body, workload(containers={"app": PROPOSED}))
    assert outcome(decision) == ("refuse", "Failed", "RollbackOutOfBounds")
    assert "90000" in decision.message and "ceiling" in decision.message


def test_the_ceilings_are_the_effective_policys() -> None:
    body = applied(rr(approved=True, rollbackRequested=True))
    low = PolicySpec(ceilings=ResourceBounds(cpu="500m"))
    assert outcome(run(body, workload(containers={"app": PROPOSED}), policy=low))[2] == "RollbackOutOfBounds"
    assert outcome(run(body, workload(containers={"app": PROPOSED}))) == (
        "rollback",
        "RollingBack",
        "RollbackRequested",
    )


def test_unreadable_snapshot_values_are_refused() -> None:
    body = applied(rr(approved=True, rollbackRequested=True), before={"requests": "lots"})
    assert outcome(run(body, workload(containers={"app": PROPOSED})))[2] == "RollbackOutOfBounds"


@pytest.mark.parametrize(
    ("entry_uid", "live_uid"),
    [("web-uid", "other-uid"), ("other-uid", "web-uid"), ("", "web-uid")],
    ids=["workload replaced", "entry names another workload", "entry without uid"],
)
def test_a_rollback_only_restores_the_workload_the_change_was_made_to(entry_uid: str, live_uid: str) -> None:
    body = applied(rr(approved=True, rollbackRequested=True), uid=entry_uid)
    live = workload(containers={"app": PROPOSED})
    live["metadata"]["uid"] = live_uid
    assert outcome(run(body, live)) == ("refuse", "Failed", "WorkloadReplaced")


def test_an_approved_applied_change_rolls_back() -> None:
    body = applied(rr(approved=True, rollbackRequested=True))
    decision = run(body, workload(containers={"app": PROPOSED}))
    assert outcome(decision) == ("rollback", "RollingBack", "RollbackRequested")
    assert decision.changes[0].after == ORIGINAL
