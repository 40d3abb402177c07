"""Pure decision logic, table-driven: every transition, drift, expiry, supersede, refusals, resume."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from krr_mcp.api.resource_recommendation import (
    SafetyFinding,
    SafetyReport,
    newer_overlapping,
    summary_columns,
)
from krr_mcp.core.decisions import Action, Decision, DecisionInputs, decide
from krr_mcp.core.patches import desired_resources

from ..builders import rr, workload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SAFE = SafetyReport(allowed=True, risk="low")
ORIGINAL = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
PROPOSED = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}


def _entry(
    action: str, outcome: str, before: dict[str, Any], after: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    at = extra.pop("at", NOW.isoformat())
    return {
        "action": action,
        "outcome": outcome,
        "at": at,
        "actor": "alice",
        "containers": [{"name": "app", "before": before, "after": after}],
        "workloadUid": "web-uid",
        **extra,
    }


def _applied_status(phase: str = "Applied", **extra: Any) -> dict[str, Any]:
    return {"phase": phase, "history": [_entry("apply", "Succeeded", ORIGINAL, PROPOSED, **extra)]}


def _run(body: dict[str, Any], live: dict[str, Any] | None, **kwargs: Any) -> Decision:
    kwargs.setdefault("safety", SAFE)
    return decide(DecisionInputs(body, live, NOW, **kwargs))


@pytest.mark.parametrize(
    ("name", "body", "live", "kwargs", "action", "phase", "reason"),
    [
        ("proposed waits", rr(), workload(), {}, Action.WAIT, "Proposed", "AwaitingApproval"),
        ("approved applies", rr(approved=True), workload(), {}, Action.APPLY, "Applying", "Approved"),
        ("rejected", rr(rejected=True), workload(), {}, Action.REJECT, "Rejected", "Rejected"),
        (
            "expired before approval",
            rr(expiresAt=(NOW - timedelta(seconds=1)).isoformat()),
            workload(),
            {},
            Action.EXPIRED,
            "Expired",
            "Expired",
        ),
        (
            "expired after approval",
            rr(approved=True, expiresAt=NOW.isoformat()),
            workload(),
            {},
            Action.EXPIRED,
            "Expired",
            "Expired",
        ),
        (
            "not yet expired applies",
            rr(approved=True, expiresAt=(NOW + timedelta(hours=1)).isoformat()),
            workload(),
            {},
            Action.APPLY,
            "Applying",
            "Approved",
        ),
        (
            "superseded",
            rr(approved=True),
            workload(),
            {"superseded_by": "web-rr-2"},
            Action.SUPERSEDE,
            "Superseded",
            "Superseded",
        ),
        ("workload gone", rr(approved=True), None, {}, Action.STALE, "Stale", "WorkloadNotFound"),
        (
            "drift: cpu changed",
            rr(approved=True),
            workload(containers={"app": {**ORIGINAL, "requests": {"cpu": "2", "memory": "1Gi"}}}),
            {},
            Action.STALE,
            "Stale",
            "Drift",
        ),
        (
            "drift: limit added",
            rr(approved=True),
            workload(containers={"app": {**ORIGINAL, "limits": {"memory": "2Gi", "cpu": "4"}}}),
            {},
            Action.STALE,
            "Stale",
            "Drift",
        ),
        (
            "drift before approval marks stale",
            rr(),
            workload(containers={"app": {}}),
            {},
            Action.STALE,
            "Stale",
            "Drift",
        ),
        (
            "same values other spelling is no drift",
            rr(approved=True),
            workload(
                containers={
                    "app": {"requests": {"cpu": "1000m", "memory": "1024Mi"}, "limits": {"memory": "2048Mi"}}
                }
            ),
            {},
            Action.APPLY,
            "Applying",
            "Approved",
        ),
        (
            "container missing",
            rr(approved=True),
            workload(containers={"other": ORIGINAL}),
            {},
            Action.REFUSE,
            "Failed",
            "ContainerMissing",
        ),
        (
            "init container of that name does not count",
            rr(approved=True),
            workload(containers={"other": ORIGINAL}, init_containers={"app": ORIGINAL}),
            {},
            Action.REFUSE,
            "Failed",
            "ContainerMissing",
        ),
        (
            "provenance problem",
            rr(approved=True),
            workload(),
            {"provenance_problem": "spec.approved was set by krr-mcp-bridge"},
            Action.REFUSE,
            "Failed",
            "ApprovalProvenance",
        ),
        (
            "safety refuses",
            rr(approved=True),
            workload(),
            {
                "safety": SafetyReport(
                    allowed=False,
                    risk="critical",
                    findings=[SafetyFinding(rule="floor", severity="refuse", message="below the floor")],
                )
            },
            Action.REFUSE,
            "Failed",
            "SafetyRefused",
        ),
        (
            "no safety report",
            rr(approved=True),
            workload(),
            {"safety": None},
            Action.REFUSE,
            "Failed",
            "SafetyUnavailable",
        ),
        (
            "already at proposed values",
            rr(approved=True),
            workload(containers={"app": PROPOSED}),
            {},
            Action.STALE,
            "Stale",
            "Drift",
        ),
        (
            "proposal equal to current",
            rr(approved=True, containers=[{"name": "app", "current": ORIGINAL, "proposed": ORIGINAL}]),
            workload(),
            {},
            Action.APPLY,
            "Applied",
            "AlreadyApplied",
        ),
        (
            "terminal rejected stays",
            rr(status={"phase": "Rejected"}),
            workload(),
            {},
            Action.NOOP,
            "Rejected",
            "Settled",
        ),
        (
            "terminal expired stays",
            rr(approved=True, status={"phase": "Expired"}),
            workload(),
            {},
            Action.NOOP,
            "Expired",
            "Settled",
        ),
        (
            "terminal superseded stays",
            rr(approved=True, status={"phase": "Superseded"}),
            workload(),
            {},
            Action.NOOP,
            "Superseded",
            "Settled",
        ),
        (
            "refused and settled stays",
            rr(approved=True, status={"phase": "Failed", "observedGeneration": 1}),
            workload(),
            {},
            Action.NOOP,
            "Failed",
            "Settled",
        ),
        (
            "refused then spec changed is re-decided",
            rr(approved=True, generation=2, status={"phase": "Failed", "observedGeneration": 1}),
            workload(),
            {},
            Action.APPLY,
            "Applying",
            "Approved",
        ),
        (
            "stale stays stale when the drift is gone (issue 15 item 1)",
            rr(approved=True, status={"phase": "Stale", "observedGeneration": 1}),
            workload(),
            {},
            Action.NOOP,
            "Stale",
            "Settled",
        ),
        (
            "unknown kind",
            rr(kind="ReplicaSet", approved=True),
            workload(),
            {},
            Action.REFUSE,
            "Failed",
            "UnknownKind",
        ),
        ("unknown kind Pod", rr(kind="Pod"), None, {}, Action.REFUSE, "Failed", "UnknownKind"),
        (
            "invalid quantity in spec",
            rr(
                approved=True,
                containers=[{"name": "app", "current": ORIGINAL, "proposed": {"requests": {"cpu": "NaN"}}}],
            ),
            workload(),
            {},
            Action.REFUSE,
            "Failed",
            "InvalidSpec",
        ),
        (
            "approved without approvedBy is refused",
            {**rr(), "spec": {**rr()["spec"], "approved": True}},
            workload(),
            {},
            Action.REFUSE,
            "Failed",
            "ApprovalProvenance",
        ),
        (
            "invalid status is never acted on",
            rr(approved=True, status={"phase": "Bogus"}),
            workload(),
            {},
            Action.REFUSE,
            "Failed",
            "InvalidStatus",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_before_any_change(
    name: str,
    body: dict[str, Any],
    live: dict[str, Any] | None,
    kwargs: dict[str, Any],
    action: Action,
    phase: str,
    reason: str,
) -> None:
    decision = _run(body, live, **kwargs)
    assert (decision.action, decision.phase, decision.reason) == (action, phase, reason), decision.message
    assert decision.message


def test_apply_carries_the_exact_snapshot_and_target() -> None:
    live = workload(containers={"app": {**ORIGINAL, "limits": {"memory": "2Gi", "ephemeral-storage": "1Gi"}}})
    body = rr(approved=True, approved_by="bob")
    body["spec"]["containers"][0]["current"]["limits"] = {"memory": "2Gi"}
    decision = _run(body, live)
    assert decision.action == Action.APPLY
    assert decision.actor == "bob"
    assert decision.history_action == "apply"
    (change,) = decision.changes
    assert change.before == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"memory": "2Gi", "ephemeral-storage": "1Gi"},
    }
    assert change.after == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"memory": "1Gi", "ephemeral-storage": "1Gi"},
    }


def test_multi_container_apply_lists_only_changed_containers() -> None:
    same = {"requests": {"cpu": "100m"}}
    body = rr(
        approved=True,
        containers=[
            {"name": "app", "current": ORIGINAL, "proposed": PROPOSED},
            {"name": "sidecar", "current": same, "proposed": {"requests": {"cpu": "0.1"}}},
        ],
    )
    live = workload(containers={"app": ORIGINAL, "sidecar": same})
    decision = _run(body, live)
    assert [c.name for c in decision.changes] == ["app", "sidecar"]
    body["spec"]["containers"][1]["proposed"] = same
    assert [c.name for c in _run(body, live).changes] == ["app"]


# ---- after a change: rollback, rollout following, auto-rollback ----


def _applied(phase: str = "Applying", **entry: Any) -> dict[str, Any]:
    return rr(approved=True, status=_applied_status(phase, **entry))


def _with_status(live: dict[str, Any], **status: Any) -> dict[str, Any]:
    out = copy.deepcopy(live)
    out["status"].update(status)
    return out


APPLIED_LIVE = workload(containers={"app": PROPOSED}, generation=2)


@pytest.mark.parametrize(
    ("name", "body", "live", "kwargs", "action", "phase", "reason"),
    [
        (
            "rollout complete",
            _applied(),
            APPLIED_LIVE,
            {},
            Action.FOLLOW_ROLLOUT,
            "Applied",
            "RolloutComplete",
        ),
        (
            "rollout progressing",
            _applied(workloadGenerationAfter=2),
            _with_status(APPLIED_LIVE, readyReplicas=0),
            {},
            Action.FOLLOW_ROLLOUT,
            "Applying",
            "RolloutProgressing",
        ),
        (
            "the controller has not taken the change up yet",
            _applied(workloadGenerationAfter=2),
            _with_status(APPLIED_LIVE, observedGeneration=1),
            {},
            Action.FOLLOW_ROLLOUT,
            "Applying",
            "WaitingForController",
        ),
        (
            "a controller backlog past the timeout is not a failed rollout: nothing is rolled back",
            _applied(at=(NOW - timedelta(seconds=3600)).isoformat(), workloadGenerationAfter=2),
            _with_status(APPLIED_LIVE, observedGeneration=1, readyReplicas=0),
            {},
            Action.FOLLOW_ROLLOUT,
            "Applying",
            "ControllerNotObserving",
        ),
        (
            "conditions about the previous template do not fail a change not taken up yet",
            _applied(workloadGenerationAfter=2),
            _with_status(
                APPLIED_LIVE,
                observedGeneration=1,
                conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            ),
            {},
            Action.FOLLOW_ROLLOUT,
            "Applying",
            "WaitingForController",
        ),
        (
            "the timeout counts from when the controller took the change up",
            _applied(
                at=(NOW - timedelta(seconds=3600)).isoformat(),
                rolloutObservedAt=(NOW - timedelta(seconds=599)).isoformat(),
            ),
            _with_status(APPLIED_LIVE, readyReplicas=0),
            {},
            Action.FOLLOW_ROLLOUT,
            "Applying",
            "RolloutProgressing",
        ),
        (
            "a slow backlog, then a rollout complete long after the change: Applied",
            _applied(at=(NOW - timedelta(seconds=3600)).isoformat(), workloadGenerationAfter=2),
            APPLIED_LIVE,
            {},
            Action.FOLLOW_ROLLOUT,
            "Applied",
            "RolloutComplete",
        ),
        (
            "rollout failed rolls back automatically",
            _applied(),
            _with_status(
                APPLIED_LIVE,
                conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            ),
            {},
            Action.ROLLBACK,
            "RollingBack",
            "RolloutFailed",
        ),
        (
            "rollout overdue rolls back",
            _applied(
                at=(NOW - timedelta(seconds=700)).isoformat(),
                rolloutObservedAt=(NOW - timedelta(seconds=601)).isoformat(),
            ),
            _with_status(APPLIED_LIVE, readyReplicas=0),
            {},
            Action.ROLLBACK,
            "RollingBack",
            "RolloutFailed",
        ),
        (
            "rollout failed, autoRollback off in the RR",
            {**_applied(), "spec": {**_applied()["spec"], "autoRollback": False}},
            _with_status(
                APPLIED_LIVE,
                conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            ),
            {},
            Action.FOLLOW_ROLLOUT,
            "Failed",
            "RolloutFailed",
        ),
        (
            "rollout failed, auto-rollback off in the operator",
            _applied(),
            _with_status(
                APPLIED_LIVE,
                conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}],
            ),
            {"auto_rollback_enabled": False},
            Action.FOLLOW_ROLLOUT,
            "Failed",
            "RolloutFailed",
        ),
        ("applied stays applied", _applied("Applied"), APPLIED_LIVE, {}, Action.NOOP, "Applied", "Settled"),
        (
            "applied and approved again never re-applies",
            _applied("Applied"),
            workload(containers={"app": ORIGINAL}),
            {},
            Action.NOOP,
            "Applied",
            "Settled",
        ),
        (
            "rollback requested",
            {**_applied("Applied"), "spec": {**_applied()["spec"], "rollbackRequested": True}},
            APPLIED_LIVE,
            {},
            Action.ROLLBACK,
            "RollingBack",
            "RollbackRequested",
        ),
        (
            "rollback requested after a failed rollout",
            {**_applied("Failed"), "spec": {**_applied()["spec"], "rollbackRequested": True}},
            APPLIED_LIVE,
            {},
            Action.ROLLBACK,
            "RollingBack",
            "RollbackRequested",
        ),
        (
            "rollback refused when someone changed the workload since",
            {**_applied("Applied"), "spec": {**_applied()["spec"], "rollbackRequested": True}},
            workload(containers={"app": {"requests": {"cpu": "3"}}}),
            {},
            Action.REFUSE,
            "Failed",
            "RollbackDrift",
        ),
        (
            "rollback asked by the bridge is refused",
            {**_applied("Applied"), "spec": {**_applied()["spec"], "rollbackRequested": True}},
            APPLIED_LIVE,
            {"provenance_problem": "managedFields show krr-mcp-bridge wrote spec.rollbackRequested"},
            Action.REFUSE,
            "Failed",
            "RollbackProvenance",
        ),
        (
            "rollback refused when the workload is gone",
            {**_applied("Applied"), "spec": {**_applied()["spec"], "rollbackRequested": True}},
            None,
            {},
            Action.REFUSE,
            "Failed",
            "WorkloadNotFound",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_after_a_change(
    name: str,
    body: dict[str, Any],
    live: dict[str, Any] | None,
    kwargs: dict[str, Any],
    action: Action,
    phase: str,
    reason: str,
) -> None:
    decision = _run(body, live, **kwargs)
    assert (decision.action, decision.phase, decision.reason) == (action, phase, reason), decision.message


def test_the_first_sight_of_the_controller_at_work_is_recorded_once() -> None:
    """`rolloutObservedAt` is set when the controller is first seen with the change, then never again."""
    taken_up = _run(_applied(workloadGenerationAfter=2), _with_status(APPLIED_LIVE, readyReplicas=0))
    assert taken_up.rollout_observed_at == NOW
    waiting = _run(_applied(workloadGenerationAfter=2), _with_status(APPLIED_LIVE, observedGeneration=1))
    assert waiting.rollout_observed_at is None
    seen = (NOW - timedelta(seconds=30)).isoformat()
    again = _run(_applied(rolloutObservedAt=seen), _with_status(APPLIED_LIVE, readyReplicas=0))
    assert again.rollout_observed_at is None


def test_rollback_restores_the_snapshot_exactly() -> None:
    body = _applied("Applied")
    body["spec"].update(rollbackRequested=True, rollbackRequestedBy="bob")
    decision = _run(body, APPLIED_LIVE)
    (change,) = decision.changes
    assert change.before == PROPOSED
    assert change.after == ORIGINAL
    assert decision.history_action == "rollback"
    assert decision.actor == "bob"  # who asked for the rollback, not alice who approved the change


def test_a_rollback_nobody_is_named_for_is_not_credited_to_the_approver() -> None:
    body = _applied("Applied")
    body["spec"]["rollbackRequested"] = True  # written where the CRD rule and the policy do not run
    decision = _run(body, APPLIED_LIVE)
    assert decision.action == Action.ROLLBACK and decision.actor == "unknown"


def test_rollback_drops_a_section_the_original_did_not_have() -> None:
    original = {"requests": {"cpu": "1"}}
    applied = {"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}}
    body = rr(
        approved=True,
        rollbackRequested=True,
        status={"phase": "Applied", "history": [_entry("apply", "Succeeded", original, applied)]},
    )
    decision = _run(body, workload(containers={"app": applied}))
    assert decision.changes[0].after == original


def test_auto_rollback_is_by_the_operator() -> None:
    live = _with_status(
        APPLIED_LIVE,
        conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
    )
    decision = _run(_applied(), live)
    assert decision.history_action == "auto-rollback"
    assert decision.actor == "krr-mcp-operator"
    assert "ProgressDeadlineExceeded" in decision.message


@pytest.mark.parametrize(
    ("phase", "live", "expected_phase", "reason"),
    [
        (
            "RollingBack",
            workload(containers={"app": ORIGINAL}, generation=3),
            "RolledBack",
            "RolloutComplete",
        ),
        (
            "RollingBack",
            _with_status(
                workload(containers={"app": ORIGINAL}, generation=3),
                conditions=[{"reason": "ProgressDeadlineExceeded"}],
            ),
            "Failed",
            "RollbackRolloutFailed",
        ),
        ("RolledBack", workload(containers={"app": ORIGINAL}), "RolledBack", "Settled"),
    ],
)
def test_after_a_rollback(phase: str, live: dict[str, Any], expected_phase: str, reason: str) -> None:
    status = _applied_status(phase)
    status["history"].append(_entry("rollback", "Succeeded", PROPOSED, ORIGINAL))
    body = rr(approved=True, rollbackRequested=True, status=status)
    decision = _run(body, live)
    assert (decision.phase, decision.reason) == (expected_phase, reason)
    assert not decision.changes_workload


# ---- restart after a crash: the write-ahead Pending entry ----


@pytest.mark.parametrize(
    ("action", "live_resources", "outcome", "phase"),
    [
        ("apply", PROPOSED, "Succeeded", "Applying"),
        ("apply", ORIGINAL, "Abandoned", "Approved"),
        ("apply", {"requests": {"cpu": "7"}}, "Failed", "Stale"),
        ("rollback", ORIGINAL, "Succeeded", "RollingBack"),
        ("rollback", PROPOSED, "Abandoned", "Applied"),
        ("rollback", {"requests": {"cpu": "7"}}, "Failed", "Failed"),
    ],
)
def test_resume_decides_from_the_live_workload(
    action: str, live_resources: dict[str, Any], outcome: str, phase: str
) -> None:
    if action == "apply":
        history = [_entry("apply", "Pending", ORIGINAL, PROPOSED)]
    else:
        history = [
            _entry("apply", "Succeeded", ORIGINAL, PROPOSED),
            _entry("rollback", "Pending", PROPOSED, ORIGINAL),
        ]
    body = rr(approved=True, status={"phase": "Applying", "history": history})
    decision = _run(body, workload(containers={"app": live_resources}))
    assert (decision.action, decision.resume_outcome, decision.phase) == (Action.RESUME, outcome, phase)
    assert decision.resume_index == len(history) - 1


@pytest.mark.parametrize("action", ["apply", "rollback"])
@pytest.mark.parametrize(
    ("live_uid", "live_resources", "outcome", "reason"),
    [
        (None, None, "Unknown", "WorkloadNotFound"),  # deleted: did the patch reach it? nobody can tell now
        ("uid-2", ORIGINAL, "Unknown", "WorkloadReplaced"),  # recreated with the old values
        ("uid-2", PROPOSED, "Unknown", "WorkloadReplaced"),  # recreated with the new values
        ("uid-1", PROPOSED, "Succeeded", "Resumed"),  # the same object: its values tell
    ],
)
def test_resume_when_the_workload_was_deleted_or_replaced(
    action: str, live_uid: str | None, live_resources: dict[str, Any] | None, outcome: str, reason: str
) -> None:
    if action == "apply":
        history = [_entry("apply", "Pending", ORIGINAL, PROPOSED, workloadUid="uid-1")]
    else:
        history = [
            _entry("apply", "Succeeded", ORIGINAL, PROPOSED, workloadUid="uid-1"),
            _entry("rollback", "Pending", PROPOSED, ORIGINAL, workloadUid="uid-1"),
        ]
        if live_resources is not None:
            live_resources = ORIGINAL if live_resources is PROPOSED else PROPOSED  # a rollback goes back
    live = None
    if live_resources is not None:
        live = workload(containers={"app": live_resources})
        live["metadata"]["uid"] = live_uid
    body = rr(approved=True, status={"phase": "Applying", "history": history})
    decision = _run(body, live)
    assert (decision.resume_outcome, decision.reason) == (outcome, reason)
    if outcome == "Unknown":
        assert decision.phase == "Failed" and "not known" in decision.message
        assert not decision.changes_workload
        # Final: neither the approval nor a rollback request is carried out on whatever is there now.
        history[-1]["outcome"] = "Unknown"
        for spec in ({}, {"rollbackRequested": True}):
            later = rr(approved=True, status={"phase": "Failed", "history": history}, **spec)
            for now_live in (
                live,
                workload(containers={"app": ORIGINAL}),
                workload(containers={"app": PROPOSED}),
            ):
                assert _run(later, now_live).action == Action.NOOP


def _owned_by(manager: str, resources: dict[str, Any], time: str = "2026-11-25T00:00:00Z") -> dict[str, Any]:
    leaves = {f"f:{s}": {f"f:{r}": {} for r in values} for s, values in resources.items()}
    fields = {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {"f:resources": leaves}}}}}
    }
    return {
        "manager": manager,
        "operation": "Update",
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


@pytest.mark.parametrize(
    ("managers", "outcome", "reason"),
    [
        ([("krr-mcp-operator", PROPOSED)], "Succeeded", "Resumed"),  # the operator's patch changed them
        ([("kubectl-edit", PROPOSED)], "Abandoned", "ChangedByOthers"),  # a human set the same values first
        ([("kubectl-edit", ORIGINAL), ("krr-mcp-operator", PROPOSED)], "Succeeded", "Resumed"),
        ([], "Succeeded", "Resumed"),  # no managedFields: the values alone decide
    ],
)
def test_resume_tells_the_operators_patch_from_a_humans_identical_edit(
    managers: list[tuple[str, dict[str, Any]]], outcome: str, reason: str
) -> None:
    history = [_entry("apply", "Pending", ORIGINAL, PROPOSED)]
    body = rr(approved=True, status={"phase": "Applying", "history": history})
    live = workload(containers={"app": PROPOSED})
    if managers:
        live["metadata"]["managedFields"] = [_owned_by(m, res) for m, res in managers]
    decision = _run(body, live)
    assert (decision.resume_outcome, decision.reason) == (outcome, reason)
    if outcome == "Abandoned":
        assert "kubectl-edit" in decision.message and decision.phase == "Approved"
        # The next look finds the workload no longer as proposed: Stale, nothing applied.
        history[-1]["outcome"] = "Abandoned"
        again = _run(rr(approved=True, status={"phase": "Approved", "history": history}), live)
        assert not again.changes_workload and again.phase == "Stale"


def test_resume_with_the_spelling_changed_by_the_server() -> None:
    history = [_entry("apply", "Pending", ORIGINAL, {"requests": {"cpu": "0.25", "memory": "512Mi"}})]
    body = rr(approved=True, status={"phase": "Applying", "history": history})
    live = workload(containers={"app": {"requests": {"cpu": "250m", "memory": "0.5Gi"}}})
    assert _run(body, live).resume_outcome == "Succeeded"


def test_after_resume_abandoned_the_apply_is_decided_again_and_only_once_applied() -> None:
    history = [_entry("apply", "Abandoned", ORIGINAL, PROPOSED)]
    body = rr(approved=True, status={"phase": "Approved", "history": history})
    assert _run(body, workload()).action == Action.APPLY
    history.append(_entry("apply", "Succeeded", ORIGINAL, PROPOSED))
    body = rr(approved=True, status={"phase": "Applied", "history": history})
    assert _run(body, workload(containers={"app": ORIGINAL})).action == Action.NOOP


# ---- supersede and summaries ----


def test_newer_rr_for_an_overlapping_container_supersedes() -> None:
    old = rr("old", created="2026-11-25T10:00:00Z")
    new = rr("new", created="2026-11-25T11:00:00Z")
    other_workload = rr("elsewhere", target="api", created="2026-11-25T12:00:00Z")
    other_container = rr(
        "sidecar",
        created="2026-11-25T12:00:00Z",
        containers=[{"name": "sidecar", "current": {}, "proposed": {"requests": {"cpu": "1"}}}],
    )
    rejected = rr("rejected", created="2026-11-25T13:00:00Z", rejected=True)
    siblings = [old, new, other_workload, other_container, rejected]
    assert newer_overlapping(old, siblings) == "new"
    assert newer_overlapping(new, siblings) is None
    assert newer_overlapping(other_container, siblings) is None
    same_time = rr("zzz", created="2026-11-25T10:00:00Z")
    assert newer_overlapping(old, [old, same_time]) == "zzz"


def test_a_safety_refusal_carries_the_refused_changes_and_makes_none() -> None:
    """The dry run shows the patch a reviewer would be refusing from the one decision: the refusal
    carries what an allowed apply would change, and nothing of it is to be made."""
    refused_report = SafetyReport(
        allowed=False,
        risk="critical",
        findings=[SafetyFinding(rule="floor", severity="refuse", message="below the floor")],
    )
    refused = _run(rr(approved=True), workload(), safety=refused_report)
    allowed = _run(rr(approved=True), workload())
    assert (refused.reason, allowed.reason) == ("SafetyRefused", "Approved")
    assert refused.refused_changes == allowed.changes and allowed.changes
    assert not refused.changes and not refused.changes_workload and not allowed.refused_changes


def test_summary_columns() -> None:
    assert summary_columns(rr()["spec"]) == {
        "containerNames": "app",
        "cpuChange": "1->250m",
        "memoryChange": "1Gi->512Mi",
    }
    two = rr(
        containers=[
            {"name": "a", "current": {"requests": {"cpu": "1"}}, "proposed": {"requests": {"cpu": "2"}}},
            {"name": "b", "current": {}, "proposed": {"requests": {"memory": "1Gi"}}},
        ]
    )
    assert summary_columns(two["spec"]) == {
        "containerNames": "a,b",
        "cpuChange": "a:1->2 b:-->-",
        "memoryChange": "a:-->- b:-->1Gi",
    }


def test_desired_resources_keeps_other_resource_names() -> None:
    live = {
        "requests": {"cpu": "1", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "2"},
        "claims": [{"name": "x"}],
    }
    assert desired_resources(live, {"requests": {"cpu": "500m"}}) == {
        "requests": {"cpu": "500m", "nvidia.com/gpu": "1"},
        "limits": {},
        "claims": [{"name": "x"}],
    }


def test_oomkilled_new_pods_trigger_the_auto_rollback() -> None:
    progressing = _with_status(APPLIED_LIVE, updatedReplicas=1)
    oom = {
        "metadata": {"name": "web-new", "creationTimestamp": (NOW + timedelta(seconds=5)).isoformat()},
        "status": {
            "containerStatuses": [{"name": "app", "lastState": {"terminated": {"reason": "OOMKilled"}}}]
        },
    }
    decision = _run(_applied(), progressing, pods=[oom])
    assert (decision.action, decision.history_action) == (Action.ROLLBACK, "auto-rollback")
    assert "OOMKilled" in decision.message
    assert _run(_applied(), progressing, pods=[]).action == Action.FOLLOW_ROLLOUT
