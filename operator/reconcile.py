"""Carry out one decision for one RR: read, decide (pure), write-ahead, patch, confirm, audit.

The order that makes a crash harmless at any point:
1. the Pending history entry holding the prior resources is written to the RR's status and confirmed
   stored (the response shows it) BEFORE the workload is touched;
2. the workload is JSON-patched with `test` ops against exactly what was decided on;
3. the entry is marked Succeeded (or Failed when the `test` ops refused the patch).
A restart after 1 finds the Pending entry and `decisions.decide` settles it from the live workload
(patched or not); so there is always a way back, and a change is never applied twice.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from krr_mcp.api.names import BRIDGE_NAME
from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import (
    Phase,
    ResourceRecommendationSpec,
    summary_columns,
    valid_target,
)
from krr_mcp.api.times import timestamp
from krr_mcp.core.decisions import Action, Decision, DecisionInputs, approval_pin, decide
from krr_mcp.core.patches import json_patch
from krr_mcp.core.safety import NamespaceInputs
from krr_mcp.core.usage_recheck import UsageVerdict, usage_recheck
from krr_mcp.kube.client import Kube, KubeError
from krr_mcp.kube.decision_inputs import InputsGatherer, OperatorChecks, read_namespace_inputs

from .approval_gate import ApprovalGate
from .audit import Auditor, next_status, ready_reason, status_differs
from .following import Following
from .namespace_inputs import NamespaceInputsCache
from .savings import SavingsPricer
from .usage_reader import UsageSource, read_usage

log = structlog.get_logger("krr_mcp.operator")

Hook = Callable[[str, dict[str, Any]], None]
"""Called with a stage name ("snapshot-stored", "workload-patched") and the RR: a seam for crash tests."""


@dataclass
class ReconcileSettings:
    auto_rollback: bool = True
    bridge_field_manager: str = BRIDGE_NAME
    hook: Hook | None = None
    # Once set, reconcile does nothing: set when the operator stops, so that a handler thread still
    # queued behind an RR's lock cannot act for an operator that is gone.
    halted: threading.Event = field(default_factory=threading.Event)
    # How old (seconds) the namespace-level safety inputs (quotas, limit ranges, HPAs, PDBs, policies)
    # may be when a change is checked; 0 reads them fresh for every RR.
    context_ttl: float = 0.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Whether approvals may be applied on this cluster (the approval admission policy is enforced);
    # fail closed: until checked, they may not. `ApprovalGate(required=False)`: never checked.
    approval_gate: ApprovalGate = field(default_factory=ApprovalGate)
    # Re-read each container's memory peak from this Prometheus right before applying (None: not read).
    usage_source: UsageSource | None = None


def _changed_before(status: dict[str, Any]) -> bool:
    return any(entry.get("outcome") in ("Succeeded", "Pending") for entry in status.get("history") or [])


class Reconciler:
    """One RR at a time: `reconcile(namespace, name)` reads it fresh and carries out its decision.

    kopf runs an object's timer apart from its event handlers, so calls for the same RR are
    serialized here (one lock per RR); across processes, kopf's peering keeps one operator active.
    """

    def __init__(self, kube: Kube, settings: ReconcileSettings | None = None) -> None:
        self.kube = kube
        self.settings = settings or ReconcileSettings()
        self.audit = Auditor(kube, self.settings.now)
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self.following = Following()  # the RRs whose rollout is under way, by workload
        self.namespace_inputs = NamespaceInputsCache(
            self._load_namespace_inputs, self.settings.context_ttl, lambda: self.settings.now().timestamp()
        )
        checks = OperatorChecks(
            bridge_field_manager=self.settings.bridge_field_manager,
            auto_rollback_enabled=self.settings.auto_rollback,
            approval_gate_problem=self.settings.approval_gate.current,
            usage_verdict=self.usage_verdict,
        )
        self.gatherer = InputsGatherer(kube, self.namespace_inputs.get, checks)
        self.savings = SavingsPricer(kube)

    def _load_namespace_inputs(self, namespace: str) -> NamespaceInputs:
        return read_namespace_inputs(self.kube, namespace)

    def usage_verdict(self, rr: dict[str, Any], now: datetime) -> UsageVerdict | None:
        """With a usage source, what the usage Prometheus shows now says about applying an approved
        RR (read only for an approved, unrejected RR not yet decided for good)."""
        source = self.settings.usage_source
        spec_raw = rr.get("spec") or {}
        phase = (rr.get("status") or {}).get("phase")
        if source is None or not spec_raw.get("approved") or spec_raw.get("rejected"):
            return None
        if phase not in (None, Phase.PROPOSED, Phase.APPROVED):
            return None
        try:
            spec = ResourceRecommendationSpec.model_validate(spec_raw)
        except ValidationError:
            return None  # decide refuses the spec itself
        reading = read_usage(source, rr["metadata"]["namespace"], spec, now)
        return usage_recheck(spec, reading, source.tolerance_percent)

    # -- the loop body ---------------------------------------------------------------------------
    def reconcile(
        self, namespace: str, name: str, siblings: list[dict[str, Any]] | None = None
    ) -> Decision | None:
        """Decide and act for the RR `namespace/name`; the decision taken (None: the RR is gone)."""
        with self._locks_guard:
            lock = self._locks[(namespace, name)]
        with lock:
            if self.settings.halted.is_set():
                return None
            return self._reconcile(namespace, name, siblings)

    def _reconcile(self, namespace: str, name: str, siblings: list[dict[str, Any]] | None) -> Decision | None:
        rr = self.kube.get_rr(namespace, name)
        if rr is None:
            self.following.settle(namespace, name)
            return None
        now = self.settings.now()
        inputs = self.gatherer.gather(rr, now, siblings)
        workload = inputs.workload
        decision = decide(inputs)
        target = valid_target(rr)
        if decision.phase in (Phase.APPLYING, Phase.ROLLING_BACK) and target is not None:
            self.following.follow(namespace, target.kind, target.name, name)  # before any patch
        else:
            self.following.settle(namespace, name)
        if decision.changes_workload and workload is not None:
            self._change(rr, workload, decision, now)
        elif decision.action == Action.RESUME:
            self._resume(rr, workload, decision, now)
        else:
            self._settle(rr, workload, decision, now, inputs)
        return decision

    def _extra(
        self, rr: dict[str, Any], decision: Decision, now: datetime, inputs: DecisionInputs | None
    ) -> dict[str, Any]:
        status = rr.get("status") or {}
        spec = rr.get("spec") or {}
        extra: dict[str, Any] = {}
        if isinstance(spec.get("containers"), list):
            extra.update(summary_columns(spec))
        report = inputs.safety if inputs is not None else None
        if report is not None:
            old = status.get("safety") or {}
            fresh = report.model_dump(mode="json", exclude_none=True)
            same = {k: v for k, v in old.items() if k != "checkedAt"} == {
                k: v for k, v in fresh.items() if k != "checkedAt"
            }
            extra["safety"] = old if same else fresh
            extra["risk"] = str(report.risk)
        if decision.action == Action.SUPERSEDE:
            extra["supersededBy"] = inputs.superseded_by if inputs is not None else None
        if spec.get("approved") and not status.get("approvedAt"):
            extra["approvedAt"] = timestamp(now)
        history = status.get("history") or []
        if decision.rollout_observed_at is not None and history and not history[-1].get("rolloutObservedAt"):
            history = copy.deepcopy(history)
            history[-1]["rolloutObservedAt"] = timestamp(decision.rollout_observed_at)
            extra["history"] = history
        return extra

    def _pricing_policy(self, rr: dict[str, Any], inputs: DecisionInputs) -> PolicySpec | None:
        """The policy `status.savings` is priced under: only when this pass read the namespace's inputs
        (the safety check or a rollback's bound); None otherwise."""
        policy = inputs.policy
        if policy is None and inputs.safety is not None:
            policy = self.namespace_inputs.get(rr["metadata"]["namespace"]).policy  # cached by the check
        return policy

    @staticmethod
    def _pinned(rr: dict[str, Any], workload: dict[str, Any] | None) -> dict[str, Any]:
        """`status.approval` to record when the operator first sees the approval (then never again)."""
        if (rr.get("status") or {}).get("approval") or (pin := approval_pin(rr, workload)) is None:
            return {}
        return {"approval": pin.model_dump(mode="json", exclude_none=True)}

    def _settle(
        self,
        rr: dict[str, Any],
        workload: dict[str, Any] | None,
        decision: Decision,
        now: datetime,
        inputs: DecisionInputs,
    ) -> None:
        """Record a decision that does not touch the workload (only when it changes the status)."""
        status = rr.get("status") or {}
        generation = rr["metadata"].get("generation")
        extra = {**self._extra(rr, decision, now, inputs), **self._pinned(rr, workload)}
        new = next_status(status, decision, now, generation, **extra)
        new = self.savings.update(new, rr, workload, self._pricing_policy(rr, inputs), now)
        if not status_differs(status, new):
            return
        self.audit.write_status(rr, new)
        moved = (status.get("phase"), ready_reason(status)) != (str(decision.phase), decision.reason)
        self.audit.record(rr, decision, str(decision.phase), workload=workload, event=moved)

    def _resume(
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

    def _change(
        self, rr: dict[str, Any], workload: dict[str, Any], decision: Decision, now: datetime
    ) -> None:
        """Write-ahead snapshot, confirmed; then the guarded patch; then the outcome."""
        meta = rr["metadata"]
        namespace = meta["namespace"]
        kind, target = rr["spec"]["target"]["kind"], rr["spec"]["target"]["name"]
        wmeta = workload.get("metadata") or {}
        entry: dict[str, Any] = {
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
        status = rr.get("status") or {}
        history = [*copy.deepcopy(status.get("history") or []), entry]
        extra = {**self._extra(rr, decision, now, None), **self._pinned(rr, workload)}
        pending = next_status(status, decision, now, meta.get("generation"), history=history, **extra)

        def snapshot_stored(stored: dict[str, Any]) -> bool:
            kept = stored.get("history") or []
            last = kept[-1] if len(kept) == len(history) else {}
            return last.get("outcome") == "Pending" and last.get("containers") == entry["containers"]

        stored = self.audit.write_status(rr, pending, confirm=snapshot_stored)
        self.audit.record(rr, decision, "Pending", workload=workload, event=False)
        self._hook("snapshot-stored", stored)
        patch = json_patch(kind, workload, decision.changes)
        before = {c.name: c.before for c in decision.changes}
        after = {c.name: c.after for c in decision.changes}
        try:
            patched = self.kube.patch_workload(namespace, kind, target, patch)
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
        if self.settings.hook is not None:
            self.settings.hook(stage, rr)
