"""The write-ahead protocol: a change to a workload is recorded before it is made.

1. `record_prior_resources`: the Pending history entry holding each container's resources before the
   change is written to the RR's status and confirmed stored (the response shows it) BEFORE the workload
   is touched;
2. the workload is JSON-patched with `test` ops against exactly what was decided on;
3. the entry is marked Succeeded (or Failed when the `test` ops refused the patch).
A restart after 1 finds the Pending entry, `decisions.decide` settles it from the live workload
(patched or not) and `resume` records that: so there is always a way back, and a change is never
applied twice.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from krr_mcp.api.resource_recommendation import Phase
from krr_mcp.api.times import timestamp
from krr_mcp.core.decisions import Action, Decision
from krr_mcp.core.patches import json_patch
from krr_mcp.kube.client import Kube, KubeError

from .audit import Auditor, next_status
from .status_patch import StatusPatch

Hook = Callable[[str, dict[str, Any]], None]
"""Called with a stage name ("snapshot-stored", "workload-patched") and the RR: a seam for crash tests."""


def pending_entry(decision: Decision, workload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The history entry recorded before `decision`'s change is made: the containers' resources before
    and after, and which workload (uid, generation, resourceVersion) they are of."""
    wmeta = workload.get("metadata") or {}
    return {
        "action": decision.history_action,
        "outcome": "Pending",
        "at": timestamp(now),
        "actor": decision.actor or "unknown",
        "containers": [c.model_dump(mode="json") for c in decision.changes],
        "workloadGenerationBefore": wmeta.get("generation"),
        "workloadResourceVersionBefore": wmeta.get("resourceVersion"),
        "workloadUid": wmeta.get("uid"),
        "message": decision.message[:1024],
    }


@dataclass(frozen=True)
class PlannedChange:
    """A decided change to make: the RR and the live workload it was decided on, the decision (an apply
    or a rollback with changes), when, and the status fields to record with its Pending entry."""

    rr: dict[str, Any]
    workload: dict[str, Any]
    decision: Decision
    now: datetime
    status: StatusPatch


@dataclass
class WriteAhead:
    """Makes a decided change by the protocol above, and settles an entry a crash left Pending."""

    kube: Kube
    audit: Auditor
    hook: Hook | None = None

    def record_prior_resources(self, planned: PlannedChange) -> dict[str, Any]:
        """Step 1: write the Pending entry (with the planned status fields) and confirm the server stored
        it as sent; the RR as stored. Raises KubeError when it was not: nothing after it may proceed."""
        rr, workload, decision, now = planned.rr, planned.workload, planned.decision, planned.now
        entry = pending_entry(decision, workload, now)
        status = rr.get("status") or {}
        history = [*copy.deepcopy(status.get("history") or []), entry]
        generation = rr["metadata"].get("generation")
        pending = next_status(status, decision, now, generation, history=history, **planned.status.fields())

        def snapshot_stored(stored: dict[str, Any]) -> bool:
            kept = stored.get("history") or []
            last = kept[-1] if len(kept) == len(history) else {}
            return last.get("outcome") == "Pending" and last.get("containers") == entry["containers"]

        stored = self.audit.write_status(rr, pending, confirm=snapshot_stored)
        self.audit.record(rr, decision, "Pending", workload=workload, event=False)
        self._hook("snapshot-stored", stored)
        return stored

    def change(self, planned: PlannedChange) -> None:
        """Steps 1-3 for the planned change (an apply or a rollback with changes)."""
        rr, workload, decision, now = planned.rr, planned.workload, planned.decision, planned.now
        meta = rr["metadata"]
        kind, target = rr["spec"]["target"]["kind"], rr["spec"]["target"]["name"]
        stored = self.record_prior_resources(planned)
        guarded = json_patch(kind, workload, decision.changes)
        before = {c.name: c.before for c in decision.changes}
        after = {c.name: c.after for c in decision.changes}
        try:
            patched = self.kube.patch_workload(meta["namespace"], kind, target, guarded)
        except KubeError as exc:
            if not exc.precondition_failed:
                raise  # unreachable or server trouble: the entry stays Pending; the next run resumes it
            self._refused_patch(stored, workload, decision, now, str(exc))
            return
        self._hook("workload-patched", stored)
        done = copy.deepcopy(stored.get("status") or {})
        last = done["history"][-1]
        last["outcome"] = "Succeeded"
        last["workloadGenerationAfter"] = (patched.get("metadata") or {}).get("generation")
        last["workloadResourceVersionAfter"] = (patched.get("metadata") or {}).get("resourceVersion")
        if decision.history_action == "apply":
            done["appliedAt"] = timestamp(now)
        self.audit.write_status(stored, done)
        self.audit.record(stored, decision, "Succeeded", workload=patched, before=before, after=after)

    def resume(
        self, rr: dict[str, Any], workload: dict[str, Any] | None, decision: Decision, now: datetime
    ) -> None:
        """Settle the Pending entry a crash left behind, as `decide` found it."""
        status = copy.deepcopy(rr.get("status") or {})
        history = status.get("history") or []
        index = decision.resume_index if decision.resume_index is not None else len(history) - 1
        entry = history[index]
        entry["outcome"] = decision.resume_outcome
        entry["message"] = f"{entry.get('message', '')} [{decision.message}]".strip()
        if decision.resume_outcome == "Succeeded" and workload is not None:
            entry["workloadGenerationAfter"] = workload["metadata"].get("generation")
            entry["workloadResourceVersionAfter"] = workload["metadata"].get("resourceVersion")
        generation = rr["metadata"].get("generation")
        new = next_status(status, decision, now, generation, history=history)
        self.audit.write_status(rr, new)
        self.audit.record(rr, decision, str(decision.resume_outcome), workload=workload)

    def _refused_patch(
        self, stored: dict[str, Any], workload: dict[str, Any], decision: Decision, now: datetime, why: str
    ) -> None:
        """The API server refused the guarded patch: someone changed the workload meanwhile."""
        rollback = decision.history_action != "apply"
        refused = Decision(
            Action.STALE if not rollback else Action.REFUSE,
            Phase.FAILED if rollback else Phase.STALE,
            "ConcurrentChange",
            f"the workload changed during the {decision.history_action}; nothing was changed ({why})",
            actor=decision.actor,
        )
        status = copy.deepcopy(stored.get("status") or {})
        status["history"][-1]["outcome"] = "Failed"
        status["history"][-1]["message"] = refused.message[:1024]
        new = next_status(status, refused, now, stored["metadata"].get("generation"))
        self.audit.write_status(stored, new)
        self.audit.record(stored, refused, "Failed", workload=workload)

    def _hook(self, stage: str, rr: dict[str, Any]) -> None:
        if self.hook is not None:
            self.hook(stage, rr)
