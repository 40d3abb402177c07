"""Pure: what a decision records in an RR's status besides its phase, message and conditions.

`compose_status_patch(...)` returns a typed `StatusPatch`; `audit.next_status` lays it over the stored
status with the phase, message, conditions and observedGeneration. Nothing here reads the cluster: the
safety report and the newer RR come from the decision's inputs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from krr_mcp.api.resource_recommendation import SafetyReport, summary_columns
from krr_mcp.api.times import timestamp
from krr_mcp.core.decisions import Action, Decision, approval_pin


@dataclass(frozen=True)
class StatusPatch:
    """Status fields to write (None: not written, the stored value stays)."""

    containerNames: str | None = None  # containerNames, cpuChange, memoryChange: the printer columns'
    cpuChange: str | None = None
    memoryChange: str | None = None
    safety: dict[str, Any] | None = None
    risk: str | None = None
    supersededBy: str | None = None
    approvedAt: str | None = None
    history: list[dict[str, Any]] | None = None
    approval: dict[str, Any] | None = None  # the approval's pin, recorded when first seen (then never again)

    def fields(self) -> dict[str, Any]:
        """The fields to write, by their status names."""
        return {name: value for name, value in vars(self).items() if value is not None}


def _kept_safety(old: dict[str, Any], report: SafetyReport) -> dict[str, Any]:
    """The report to store: the stored one when only its `checkedAt` would change (no needless write)."""
    fresh = report.model_dump(mode="json", exclude_none=True)
    same = {k: v for k, v in old.items() if k != "checkedAt"} == {
        k: v for k, v in fresh.items() if k != "checkedAt"
    }
    return old if same else fresh


def compose_status_patch(
    rr: dict[str, Any],
    workload: dict[str, Any] | None,
    decision: Decision,
    now: datetime,
    *,
    report: SafetyReport | None = None,
    superseded_by: str | None = None,
) -> StatusPatch:
    """The status fields `decision` records for `rr` at `now`: the printer columns' summary, the safety
    report (`report`), the newer RR (a supersede), when the approval was first seen and its pin, and when the
    controller first took up the rollout (in the last history entry). `status.savings` is not here: the
    operator's `SavingsPricer` prices it apart (it may ask OpenCost)."""
    status = rr.get("status") or {}
    spec = rr.get("spec") or {}
    columns = summary_columns(spec) if isinstance(spec.get("containers"), list) else {}
    history = status.get("history") or []
    observed: list[dict[str, Any]] | None = None
    if decision.rollout_observed_at is not None and history and not history[-1].get("rolloutObservedAt"):
        observed = copy.deepcopy(history)
        observed[-1]["rolloutObservedAt"] = timestamp(decision.rollout_observed_at)
    pin = None if status.get("approval") else approval_pin(rr, workload)
    return StatusPatch(
        containerNames=columns.get("containerNames"),
        cpuChange=columns.get("cpuChange"),
        memoryChange=columns.get("memoryChange"),
        safety=_kept_safety(status.get("safety") or {}, report) if report is not None else None,
        risk=str(report.risk) if report is not None else None,
        supersededBy=superseded_by if decision.action == Action.SUPERSEDE else None,
        approvedAt=timestamp(now) if spec.get("approved") and not status.get("approvedAt") else None,
        history=observed,
        approval=pin.model_dump(mode="json", exclude_none=True) if pin is not None else None,
    )
