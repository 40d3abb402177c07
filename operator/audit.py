"""Audit: one call records a decision in the RR's status, a structlog JSON line and Kubernetes Events.

`next_status(...)` is pure (status in, status out); `Auditor.record(...)` writes it (status subresource,
resourceVersion precondition), confirms it was stored, logs, and posts Events: on the RR always, on the
workload too when the decision changes it. Event failures are logged, never fatal: the status and the
log line are the record of truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from krr_mcp.api.resource_recommendation import Phase
from krr_mcp.api.times import timestamp
from krr_mcp.core.decisions import OPERATOR_ACTOR, Action, Decision
from krr_mcp.kube.client import Kube, KubeError
from krr_mcp.kube.events import create_event

from . import metrics

log = structlog.get_logger("krr_mcp.audit")


class StatusNotStored(KubeError):
    """The API server stored a status other than the one written (e.g. its schema pruned a field):
    nothing that relies on that write may proceed. Transient: the next run reads the RR again and
    decides on what was stored."""

    transient = True


_DONE = {Phase.APPLIED, Phase.ROLLED_BACK}
# On a waiting RR: False (with why) while an approval would not be applied (krr_operator.approval_gate).
APPROVALS_ENFORCED = "ApprovalsEnforced"
_WARNING_ACTIONS = {Action.REFUSE, Action.STALE, Action.EXPIRED}


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: bool,
    reason: str,
    message: str,
    now: datetime,
    generation: int | None,
) -> list[dict[str, Any]]:
    """`conditions` with `type_` set (lastTransitionTime kept when its status does not change)."""
    value = "True" if status else "False"
    old = next((c for c in conditions if c.get("type") == type_), None)
    changed = old is None or old.get("status") != value
    entry = {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": timestamp(now)
        if changed or old is None
        else old.get("lastTransitionTime", timestamp(now)),
    }
    if generation is not None:
        entry["observedGeneration"] = generation
    return [c for c in conditions if c.get("type") != type_] + [entry]


def ready_reason(status: Any) -> str | None:
    """The reason of an RR status' Ready condition (None: no condition, or no status)."""
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    ready = next((c for c in conditions or [] if isinstance(c, Mapping) and c.get("type") == "Ready"), None)
    return ready.get("reason") if ready else None


def next_status(
    status: dict[str, Any], decision: Decision, now: datetime, generation: int | None, **fields: Any
) -> dict[str, Any]:
    """The whole status after `decision` (phase, message, conditions, observedGeneration, `fields`).

    A NOOP keeps phase, message and conditions as they are (nothing new happened).
    """
    if decision.action == Action.NOOP:
        return {**status, "observedGeneration": generation, **fields}
    conditions = list(status.get("conditions") or [])
    conditions = set_condition(
        conditions, "Ready", decision.phase in _DONE, decision.reason, decision.message, now, generation
    )
    refused = decision.action == Action.REFUSE
    if refused or any(c.get("type") == "Refused" for c in conditions):
        conditions = set_condition(
            conditions,
            "Refused",
            refused,
            decision.reason,
            decision.message if refused else "",
            now,
            generation,
        )
    waiting = decision.action == Action.WAIT
    if waiting and (decision.approval_gate or any(c.get("type") == APPROVALS_ENFORCED for c in conditions)):
        gate = decision.approval_gate
        conditions = set_condition(
            conditions,
            APPROVALS_ENFORCED,
            gate is None,
            "ApprovalPolicyMissing" if gate else "ApprovalPolicyEnforced",
            gate or "the approval admission policy is installed and denies",
            now,
            generation,
        )
    result = {
        **status,
        "phase": str(decision.phase),
        "message": decision.message[:4096],
        "observedGeneration": generation,
        "conditions": conditions,
    }
    result.update(fields)
    return result


def status_differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when writing `new` changes more than condition timestamps."""

    def strip(status: dict[str, Any]) -> dict[str, Any]:
        conditions = [
            {k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions") or []
        ]
        return {**status, "conditions": conditions}

    return strip(old) != strip(new)


@dataclass
class Auditor:
    """Writes status, log lines and Events for the operator."""

    kube: Kube
    now: Callable[[], datetime]

    def write_status(
        self,
        rr: dict[str, Any],
        status: dict[str, Any],
        *,
        confirm: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Store `status` on `rr` (only if the RR did not change since it was read); return the stored RR.

        `confirm(stored_status)` must hold on what the server stored, else StatusNotStored (nothing after
        this write may proceed: e.g. a history entry pruned by the schema would be no snapshot at all).
        """
        meta = rr["metadata"]
        stored = self.kube.patch_rr_status(
            meta["namespace"], meta["name"], status, meta.get("resourceVersion")
        )
        if confirm is not None and not confirm(stored.get("status") or {}):
            raise StatusNotStored(
                f"rr {meta['namespace']}/{meta['name']}: the status written was not stored as sent"
            )
        return stored

    def record(
        self,
        rr: dict[str, Any],
        decision: Decision,
        outcome: str,
        *,
        workload: dict[str, Any] | None = None,
        before: Any = None,
        after: Any = None,
        event: bool = True,
    ) -> None:
        """Log one audit line and post the Events for `decision` with `outcome` (status is written apart)."""
        meta = rr.get("metadata") or {}
        target = (rr.get("spec") or {}).get("target") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        # A decision without an actor (following a rollout, waiting, refusing) is the operator's own
        # doing: never credit it to the approver (it would name the approver for a rollback's rollout).
        actor = decision.actor or OPERATOR_ACTOR
        metrics.record_outcome(rr, str(decision.action), decision.history_action, decision.reason, outcome)
        log.info(
            f"rr.{decision.history_action or decision.action}",
            rr=name,
            target=f"{target.get('kind')}/{target.get('name')}",
            actor=actor,
            before=before,
            after=after,
            outcome=outcome,
            phase=str(decision.phase),
            reason=decision.reason,
            message=decision.message,
        )
        if not event:
            return
        warning = decision.action in _WARNING_ACTIONS or outcome in ("Failed", "Refused")
        text = f"{decision.message} (outcome {outcome}, actor {actor})"
        self._event(rr, decision.reason, text, warning, str(decision.action))
        if workload is not None and decision.changes_workload:
            about = f"{decision.history_action} by {name}: {text}"
            self._event(workload, f"ResourceRecommendation{outcome}", about, warning, str(decision.action))

    def _event(self, involved: dict[str, Any], reason: str, message: str, warning: bool, action: str) -> None:
        try:
            create_event(self.kube, involved, reason, message, warning=warning, action=action)
        except KubeError as exc:
            log.warning("event.failed", error=str(exc), reason=reason)
