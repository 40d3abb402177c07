"""Pure: what the operator does next with one ResourceRecommendation (RR).

`decide(DecisionInputs(rr, workload, now, ...))` reads the RR (spec and status, as the API server
returns them), the live workload and what the caller found out (one object: the operator's reconcile and
the dry run decide on the same inputs) and returns a Decision; it performs nothing. The handlers carry
decisions out.
The order of the checks is the contract:

1. an unparseable RR (unknown kind, invalid spec or status) is refused, never guessed at;
2. a Pending history entry (the write-ahead record of a change that may or may not have happened
   before a crash) is resolved first, from the live workload alone;
3. an approval is pinned (`approval_pin`: a digest of what was approved and the workload's uid, stored
   in status when the operator first sees it): a spec that no longer matches its pin is refused for
   good, whatever else it asks;
4. once a change is in effect: rollback on request, else follow the rollout (auto-rollback on
   failure unless disabled), else nothing; a rollback only for an approved RR, to the workload (uid)
   the change was made to, with values within the policy's ceilings;
5. before any change: final phases stay final (Stale included: an approval is for the state it was
   given on, never a later one), rejected, expired, superseded, workload or container missing, the
   workload replaced since the approval, drift (live != `current`, compared by value), not approved
   (wait), the approval admission policy not enforced (`approval_gate`), approval provenance, safety;
   then apply.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from krr_mcp.api.names import OPERATOR_NAME
from krr_mcp.api.policy import BUILTIN_POLICY, PolicySpec
from krr_mcp.api.resource_recommendation import (
    ApprovalPin,
    ContainerChange,
    HistoryEntry,
    Phase,
    ResourceRecommendationSpec,
    ResourceRecommendationStatus,
    SafetyReport,
)

from .patches import desired_resources
from .rollout import rollout_state
from .safety import ceiling_refusals
from .usage_recheck import UsageVerdict
from .workloads import (
    changed_leaves,
    describe,
    find_container,
    resource_owners,
    same_cpu_memory,
    supported_kinds,
)

OPERATOR_ACTOR = OPERATOR_NAME

# Condition reasons of a change whose rollout the workload's controller has not taken up yet: the RR is
# re-checked when its workload changes (a watch) and otherwise only every idle interval.
WAITING_FOR_CONTROLLER = "WaitingForController"
CONTROLLER_NOT_OBSERVING = "ControllerNotObserving"


class Action(StrEnum):
    WAIT = "wait"
    APPLY = "apply"
    STALE = "stale"
    EXPIRED = "expired"
    SUPERSEDE = "supersede"
    REJECT = "reject"
    ROLLBACK = "rollback"
    RESUME = "resume"
    REFUSE = "refuse"
    FOLLOW_ROLLOUT = "follow-rollout"
    NOOP = "noop"


# Phases in which nothing more happens (after a change, only a rollback when asked). Stale is final: the
# workload was not what the proposal (or the approval) was for, and a later state of it needs a new one.
TERMINAL_PHASES = {Phase.REJECTED, Phase.EXPIRED, Phase.SUPERSEDED, Phase.ROLLED_BACK, Phase.STALE}


@dataclass(frozen=True)
class Decision:
    """What to do, the phase to record, and why (`reason` is a CamelCase condition reason)."""

    action: Action
    phase: Phase
    reason: str
    message: str
    changes: tuple[ContainerChange, ...] = ()
    history_action: str | None = None  # apply | rollback | auto-rollback, when `changes` are to be made
    actor: str | None = None
    resume_index: int | None = None  # RESUME: the Pending history entry ...
    resume_outcome: str | None = None  # ... becomes Succeeded (patched), Abandoned (not), Unknown or Failed
    details: dict[str, Any] = field(default_factory=dict)
    # WAIT: why an approval would not be applied now (the approval admission policy is not enforced).
    approval_gate: str | None = None
    # FOLLOW_ROLLOUT: the workload's controller was first seen taking up the change now; recorded in the
    # history entry as `rolloutObservedAt` (the rollout timeout counts from it).
    rollout_observed_at: datetime | None = None
    # SafetyRefused: the changes an apply would have made, which the safety rules refused. Never made;
    # the dry run shows their patch so that a reviewer sees what is refused.
    refused_changes: tuple[ContainerChange, ...] = ()

    @property
    def changes_workload(self) -> bool:
        return self.action in (Action.APPLY, Action.ROLLBACK) and bool(self.changes)


def _spec_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _succeeded(history: list[HistoryEntry]) -> HistoryEntry | None:
    """The last change that took effect (a Succeeded apply or rollback), or None."""
    for entry in reversed(history):
        if entry.outcome == "Succeeded":
            return entry
    return None


def approved_spec_digest(spec: ResourceRecommendationSpec) -> str:
    """sha256 of what a person approves: target, containers, approved and approvedBy (canonical JSON of
    the parsed spec without defaulted values, so a field added to the schema later does not change it)."""
    approved = {
        "target": spec.target.model_dump(mode="json", exclude_defaults=True),
        "containers": [c.model_dump(mode="json", exclude_defaults=True) for c in spec.containers],
        "approved": spec.approved,
        "approvedBy": spec.approvedBy,
    }
    canonical = json.dumps(approved, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _workload_uid(workload: dict[str, Any] | None) -> str | None:
    uid = ((workload or {}).get("metadata") or {}).get("uid")
    return str(uid) if uid else None


def approval_pin(rr: dict[str, Any], workload: dict[str, Any] | None) -> ApprovalPin | None:
    """The approval this RR is held to: the one recorded in status, else (an approved RR the operator
    sees for the first time) its spec's digest and the live workload's uid, to be recorded now.
    None: not approved and nothing recorded, or an unreadable spec or status."""
    try:
        status = ResourceRecommendationStatus.model_validate(rr.get("status") or {})
        if status.approval is not None:
            return status.approval
        spec = ResourceRecommendationSpec.model_validate(rr.get("spec") or {})
    except ValidationError:
        return None
    if not spec.approved:
        return None
    return ApprovalPin(specDigest=approved_spec_digest(spec), workloadUid=_workload_uid(workload))


def _timestamp(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class DecisionInputs:
    """Everything `decide` reads, as one object: the RR (spec and status as the API server returns
    them), the live workload (None: not found) and the time, plus what the caller found out.

    `safety` (the safety rules' report), `provenance_problem` (why the approval is not a human's) and
    `superseded_by` (the name of a newer RR for the same workload container): pass them when known;
    apply is refused without a safety report that allows it.
    `pods` are the workload's pods while a rollout is followed (OOMKilled/crash-looping fails it).
    `policy` is the effective policy, whose ceilings bound what a rollback restores (default: built-in).
    `approval_gate_problem`: why approvals cannot be trusted on this cluster (`approval_gate`); an
    approval seen while it is set is refused for good, and waiting RRs say so.
    `usage_verdict`: why the usage re-read from Prometheus forbids applying now (`usage_recheck`); an
    approved change is then refused, or waits when Prometheus could not be asked.
    The operator's reconcile and the dry run build it with `krr_mcp.kube.decision_inputs`.
    """

    rr: dict[str, Any]
    workload: dict[str, Any] | None
    now: datetime
    safety: SafetyReport | None = None
    provenance_problem: str | None = None
    superseded_by: str | None = None
    auto_rollback_enabled: bool = True
    pods: list[dict[str, Any]] | None = None
    policy: PolicySpec | None = None
    approval_gate_problem: str | None = None
    usage_verdict: UsageVerdict | None = None


def decide(inputs: DecisionInputs) -> Decision:
    """The next step for `inputs.rr` given the live workload at `inputs.now` (see `DecisionInputs`)."""
    rr, workload, now = inputs.rr, inputs.workload, inputs.now
    spec_raw = rr.get("spec") or {}
    meta = rr.get("metadata") or {}
    if not isinstance(spec_raw, dict):
        return Decision(
            Action.REFUSE, Phase.FAILED, "InvalidSpec", f"spec is a {type(spec_raw).__name__}, not an object"
        )
    target = spec_raw.get("target")
    kind = str(target.get("kind", "")) if isinstance(target, dict) else ""
    try:
        status = ResourceRecommendationStatus.model_validate(rr.get("status") or {})
    except ValidationError as exc:
        return Decision(
            Action.REFUSE, Phase.FAILED, "InvalidStatus", f"status is unreadable: {_spec_error(exc)}"
        )
    settled = status.observedGeneration is not None and status.observedGeneration == meta.get("generation")
    if status.history and status.history[-1].outcome == "Pending":
        return _resume(status, len(status.history) - 1, kind, workload)
    if status.history and status.history[-1].outcome == "Unknown":  # final: a new workload needs a new RR
        return Decision(
            Action.NOOP, Phase.FAILED, "Settled", status.message or "the last change's outcome is unknown"
        )
    if kind not in supported_kinds():
        if settled and status.phase == Phase.FAILED:
            return Decision(Action.NOOP, Phase.FAILED, "UnknownKind", status.message)
        return Decision(
            Action.REFUSE,
            Phase.FAILED,
            "UnknownKind",
            f"workload kind {kind!r} is not supported (supported: {', '.join(supported_kinds())})",
        )
    try:
        spec = ResourceRecommendationSpec.model_validate(spec_raw)
    except ValidationError as exc:
        return Decision(Action.REFUSE, Phase.FAILED, "InvalidSpec", f"spec is invalid: {_spec_error(exc)}")

    pin = approval_pin(rr, workload)
    if pin is not None and pin.specDigest != approved_spec_digest(spec):
        return Decision(
            Action.REFUSE,
            Phase.FAILED,
            "ApprovedSpecChanged",
            "the spec is no longer what was approved (target, containers or approval changed after the "
            "approval); nothing more is applied or rolled back for it: ask for a new proposal",
        )
    last = _succeeded(status.history)
    if last is not None:
        return _after_change(
            spec,
            status,
            last,
            workload,
            now,
            _AfterChangeInputs(
                inputs.auto_rollback_enabled,
                inputs.provenance_problem,
                inputs.pods,
                pin,
                inputs.policy or BUILTIN_POLICY,
            ),
        )
    # Failed is final once settled, and once an approval is pinned (only approval fields can change it).
    if status.phase in TERMINAL_PHASES or (
        status.phase == Phase.FAILED and (settled or status.approval is not None)
    ):
        return Decision(
            Action.NOOP, Phase(status.phase), "Settled", status.message or f"{status.phase} is final"
        )
    return _before_change(
        spec,
        workload,
        now,
        (inputs.safety, inputs.usage_verdict),
        (inputs.provenance_problem, inputs.approval_gate_problem),
        inputs.superseded_by,
        pin,
    )


def _resume(
    status: ResourceRecommendationStatus, index: int, kind: str, workload: dict[str, Any] | None
) -> Decision:
    """Resolve the write-ahead entry of a change interrupted by a crash: did the patch happen?"""
    entry = status.history[index]
    rollback = entry.action != "apply"
    in_progress = Phase.ROLLING_BACK if rollback else Phase.APPLYING
    before_phase = Phase.APPLIED if rollback else Phase.APPROVED

    def resumed(outcome: str, phase: Phase, reason: str, message: str) -> Decision:
        return Decision(Action.RESUME, phase, reason, message, resume_index=index, resume_outcome=outcome)

    if kind not in supported_kinds():
        return resumed(
            "Failed", Phase.FAILED, "UnsupportedKind", f"{entry.action} interrupted; {kind} unsupported"
        )
    unknown = "whether the patch reached it is not known; nothing more is applied"
    if workload is None:
        return resumed(
            "Unknown",
            Phase.FAILED,
            "WorkloadNotFound",
            f"{entry.action} interrupted and the workload is gone: {unknown}",
        )
    uid = (workload.get("metadata") or {}).get("uid")
    if entry.workloadUid and uid and uid != entry.workloadUid:
        return resumed(
            "Unknown",
            Phase.FAILED,
            "WorkloadReplaced",
            f"{entry.action} interrupted and the workload was deleted and created again"
            f" (uid {entry.workloadUid} is now {uid}): {unknown}",
        )
    live: dict[str, dict[str, Any] | None] = {}
    for change in entry.containers:
        found = find_container(workload, kind, change.name)
        live[change.name] = None if found is None else (found[1].get("resources") or {})
    if all(c.name in live and same_cpu_memory(live[c.name], c.after) for c in entry.containers):
        others = _written_by_others(workload, kind, entry)
        if others:
            return resumed(
                "Abandoned",
                before_phase,
                "ChangedByOthers",
                f"{entry.action} was not patched before a restart: the workload holds its values, "
                f"written by {', '.join(sorted(others))}",
            )
        return resumed(
            "Succeeded", in_progress, "Resumed", f"{entry.action} had been patched before a restart"
        )
    if all(c.name in live and same_cpu_memory(live[c.name], c.before) for c in entry.containers):
        return resumed(
            "Abandoned", before_phase, "Resumed", f"{entry.action} was not patched before a restart"
        )
    phase = Phase.FAILED if rollback else Phase.STALE
    return resumed("Failed", phase, "Drift", f"{entry.action} interrupted and the workload changed meanwhile")


def _written_by_others(workload: dict[str, Any], kind: str, entry: HistoryEntry) -> set[str]:
    """The field managers other than the operator that own a value `entry` would have changed, when the
    operator owns none of them (empty: the operator wrote them, or managedFields cannot tell).

    managedFields give a changed value to the manager that last changed it, and a write of the same value
    does not move it: so the operator's interrupted patch owns the values it changed, and someone else
    who set the very same values first owns them instead."""
    others: set[str] = set()
    for change in entry.containers:
        owners = resource_owners(workload, kind, change.name)
        if owners is None:
            return set()
        for leaf in changed_leaves(change.before, change.after):
            holders = owners.get(leaf, set())
            if OPERATOR_NAME in holders:
                return set()
            others |= holders
    return others


@dataclass(frozen=True)
class _AfterChangeInputs:
    auto_rollback_enabled: bool
    provenance_problem: str | None
    pods: list[dict[str, Any]] | None
    pin: ApprovalPin | None
    policy: PolicySpec


def _after_change(
    spec: ResourceRecommendationSpec,
    status: ResourceRecommendationStatus,
    last: HistoryEntry,
    workload: dict[str, Any] | None,
    now: datetime,
    inputs: _AfterChangeInputs,
) -> Decision:
    """A change is in effect (`last`): rollback on request, or follow its rollout, or nothing.

    The history is status, which anyone allowed to write the status subresource could forge: an RR
    that was never approved has no change of the operator's to follow or undo."""
    if not spec.approved or inputs.pin is None:
        return Decision(
            Action.REFUSE,
            Phase.FAILED,
            "UnapprovedHistory",
            "status.history records a change, but this RR was never approved: the operator did not make "
            "it and will neither follow nor roll it back",
        )
    rolled_back = last.action != "apply"
    phase = Phase(status.phase)
    pods = inputs.pods
    if not rolled_back and spec.rollbackRequested:
        if inputs.provenance_problem:
            return Decision(Action.REFUSE, Phase.FAILED, "RollbackProvenance", inputs.provenance_problem)
        requester = spec.rollbackRequestedBy or "unknown"  # who asked, never the approver in their place
        return _rollback(spec, last, workload, inputs, "rollback", requester, "RollbackRequested")
    in_progress = Phase.ROLLING_BACK if rolled_back else Phase.APPLYING
    if phase != in_progress:
        return Decision(Action.NOOP, phase, "Settled", status.message or f"{phase} is final")
    if workload is None:
        return Decision(Action.FOLLOW_ROLLOUT, Phase.FAILED, "WorkloadNotFound", "the workload disappeared")
    started = _timestamp(last.at) or now
    state = rollout_state(workload, last.workloadGenerationAfter, pods, started)
    timeout = timedelta(seconds=spec.rolloutTimeoutSeconds)
    first_seen = now if state.observed and last.rolloutObservedAt is None else None
    if state.phase == "complete":
        done = Phase.ROLLED_BACK if rolled_back else Phase.APPLIED
        return Decision(
            Action.FOLLOW_ROLLOUT, done, "RolloutComplete", state.message, rollout_observed_at=first_seen
        )
    if not state.observed:
        # The controller has not taken the change up (a backlog, or it is down): the pods still run the
        # previous template, so nothing is broken and a rollback would only queue behind the change.
        if now - started <= timeout:
            return Decision(Action.FOLLOW_ROLLOUT, in_progress, WAITING_FOR_CONTROLLER, state.message)
        return Decision(
            Action.FOLLOW_ROLLOUT,
            in_progress,
            CONTROLLER_NOT_OBSERVING,
            f"the workload's controller has not taken up the change after {spec.rolloutTimeoutSeconds}s "
            f"({state.message}): nothing of it is rolled out yet, so it is not rolled back; "
            "a person may request a rollback",
        )
    overdue = now - (_timestamp(last.rolloutObservedAt) or now) > timeout
    if state.phase == "progressing" and not overdue:
        return Decision(
            Action.FOLLOW_ROLLOUT,
            in_progress,
            "RolloutProgressing",
            state.message,
            rollout_observed_at=first_seen,
        )
    why = (
        state.message if state.phase == "failed" else f"rollout not done after {spec.rolloutTimeoutSeconds}s"
    )
    if rolled_back:
        return Decision(Action.FOLLOW_ROLLOUT, Phase.FAILED, "RollbackRolloutFailed", why)
    if spec.autoRollback and inputs.auto_rollback_enabled:
        return _rollback(spec, last, workload, inputs, "auto-rollback", OPERATOR_ACTOR, "RolloutFailed", why)
    return Decision(Action.FOLLOW_ROLLOUT, Phase.FAILED, "RolloutFailed", f"{why}; automatic rollback is off")


def _rollback(
    spec: ResourceRecommendationSpec,
    applied: HistoryEntry,
    workload: dict[str, Any] | None,
    inputs: _AfterChangeInputs,
    history_action: str,
    actor: str,
    reason: str,
    why: str = "",
) -> Decision:
    """Restore each container's CPU/memory from the snapshot, if the live values are still ours, the
    workload is the one the change was made to (uid) and the snapshot is within the policy's ceilings."""
    kind = spec.target.kind
    if workload is None:
        return Decision(
            Action.REFUSE, Phase.FAILED, "WorkloadNotFound", "cannot roll back: the workload is gone"
        )
    uid = _workload_uid(workload)
    pinned = inputs.pin.workloadUid if inputs.pin is not None else None
    if not applied.workloadUid or uid != applied.workloadUid or uid != pinned:
        message = (
            f"cannot roll back: the workload's uid is {uid}, the change was made to "
            f"{applied.workloadUid or 'an unrecorded uid'} and approved for {pinned or 'no workload'}"
        )
        return Decision(Action.REFUSE, Phase.FAILED, "WorkloadReplaced", message)
    out_of_bounds = [
        problem
        for change in applied.containers
        for problem in ceiling_refusals(change.name, change.before, inputs.policy)
    ]
    if out_of_bounds:
        message = "cannot roll back to values outside the policy: " + "; ".join(out_of_bounds)
        return Decision(Action.REFUSE, Phase.FAILED, "RollbackOutOfBounds", message)
    changes = []
    for change in applied.containers:
        found = find_container(workload, kind, change.name)
        if found is None:
            return Decision(
                Action.REFUSE, Phase.FAILED, "ContainerMissing", f"cannot roll back: {change.name!r} is gone"
            )
        live = found[1].get("resources") or {}
        if not same_cpu_memory(live, change.after):
            message = (
                f"cannot roll back {change.name!r}: it was changed after the apply "
                f"(live {describe(live)}, applied {describe(change.after)})"
            )
            return Decision(Action.REFUSE, Phase.FAILED, "RollbackDrift", message)
        after = desired_resources(live, change.before, keep_empty_sections_of=change.before)
        changes.append(ContainerChange(name=change.name, before=live, after=after))
    message = f"restoring the resources from before the apply{': ' + why if why else ''}"
    return Decision(
        Action.ROLLBACK,
        Phase.ROLLING_BACK,
        reason,
        message,
        tuple(changes),
        history_action=history_action,
        actor=actor,
    )


def _before_change(
    spec: ResourceRecommendationSpec,
    workload: dict[str, Any] | None,
    now: datetime,
    checks: tuple[SafetyReport | None, UsageVerdict | None],
    approval_problems: tuple[str | None, str | None],
    superseded_by: str | None,
    pin: ApprovalPin | None,
) -> Decision:
    """Nothing changed yet: every reason not to apply, in order; else the apply itself.
    `checks`: (safety report, usage verdict); `approval_problems`: (provenance problem, approval gate
    problem)."""
    safety, usage_verdict = checks
    provenance_problem, gate_problem = approval_problems
    if spec.rejected:
        return Decision(Action.REJECT, Phase.REJECTED, "Rejected", "rejected by a reviewer")
    expires = _timestamp(spec.expiresAt)
    if expires is not None and now >= expires:
        return Decision(Action.EXPIRED, Phase.EXPIRED, "Expired", f"expired at {expires.isoformat()}")
    if superseded_by:
        return Decision(Action.SUPERSEDE, Phase.SUPERSEDED, "Superseded", f"superseded by {superseded_by}")
    kind, name = spec.target.kind, spec.target.name
    if workload is None:
        return Decision(Action.STALE, Phase.STALE, "WorkloadNotFound", f"{kind} {name!r} not found")
    if pin is not None and pin.workloadUid != _workload_uid(workload):
        approved_for = f"uid {pin.workloadUid}" if pin.workloadUid else "no workload (it did not exist)"
        message = (
            f"{kind} {name!r} is not the workload that was approved: its uid is {_workload_uid(workload)}, "
            f"the approval was for {approved_for}"
        )
        return Decision(Action.STALE, Phase.STALE, "WorkloadReplaced", message)
    drift = []
    changes = []
    for container in spec.containers:
        found = find_container(workload, kind, container.name)
        if found is None:
            return Decision(
                Action.REFUSE,
                Phase.FAILED,
                "ContainerMissing",
                f"{kind} {name!r} has no container {container.name!r}",
            )
        live = found[1].get("resources") or {}
        if not same_cpu_memory(live, container.current):
            drift.append(
                f"{container.name}: live {describe(live)}, proposal based on {describe(container.current)}"
            )
        after = desired_resources(live, container.proposed)
        if after != live:
            changes.append(ContainerChange(name=container.name, before=live, after=after))
    if drift:
        return Decision(
            Action.STALE, Phase.STALE, "Drift", "the workload changed since the proposal: " + "; ".join(drift)
        )
    if not spec.approved:
        risk = f" (risk {safety.risk})" if safety is not None else ""
        return Decision(
            Action.WAIT,
            Phase.PROPOSED,
            "AwaitingApproval",
            f"waiting for a human to approve{risk}",
            approval_gate=gate_problem,
        )
    if gate_problem:  # an approval the API server did not verify is never applied, even once it would
        return Decision(Action.REFUSE, Phase.FAILED, "ApprovalPolicyMissing", gate_problem)
    if not spec.approvedBy:
        provenance_problem = provenance_problem or "approved without approvedBy: no human is named"
    if provenance_problem:
        return Decision(Action.REFUSE, Phase.FAILED, "ApprovalProvenance", provenance_problem)
    if safety is None:
        return Decision(
            Action.REFUSE, Phase.FAILED, "SafetyUnavailable", "no safety report: refusing to apply"
        )
    if not safety.allowed:
        refusals = [f.message for f in safety.findings if f.severity == "refuse"]
        return Decision(
            Action.REFUSE,
            Phase.FAILED,
            "SafetyRefused",
            "; ".join(refusals) or "refused by safety rules",
            refused_changes=tuple(changes),
        )
    if usage_verdict is not None and changes:
        if usage_verdict.retry:
            return Decision(Action.WAIT, Phase.APPROVED, usage_verdict.reason, usage_verdict.message)
        return Decision(Action.REFUSE, Phase.FAILED, usage_verdict.reason, usage_verdict.message)
    actor = spec.approvedBy or "unknown"
    if not changes:
        return Decision(
            Action.APPLY, Phase.APPLIED, "AlreadyApplied", "the workload already has the proposed values"
        )
    message = f"applying to {kind} {name!r}: " + ", ".join(c.name for c in changes)
    return Decision(
        Action.APPLY, Phase.APPLYING, "Approved", message, tuple(changes), history_action="apply", actor=actor
    )
