"""Carry out one decision for one RR: gather its inputs, decide (pure), then record or change.

The pieces, each small and named:
- `RRLocks` (locks.py): one lock per RR, so that the calls for the same RR run one at a time;
- `InputsGatherer` (krr_mcp/kube/decision_inputs.py, shared with the dry run): the `DecisionInputs`
  of the RR as the cluster shows them, with the operator's own checks (`OperatorChecks`);
- `decisions.decide`: what to do, pure;
- `compose_status_patch` (status_patch.py): the status fields the decision records, pure and typed
  (`SavingsPricer`, savings.py, then prices `status.savings`);
- `WriteAhead` (write_ahead.py): a change is recorded (the prior resources in status, confirmed stored)
  before the workload is patched; a crash in between is settled from the live workload on the next run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog

from krr_mcp.api.names import BRIDGE_NAME
from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import Phase, valid_target
from krr_mcp.core.decisions import Action, Decision, DecisionInputs, decide
from krr_mcp.kube.client import Kube
from krr_mcp.kube.decision_inputs import InputsGatherer, OperatorChecks, read_namespace_inputs

from .approval_gate import ApprovalGate
from .audit import Auditor, next_status, ready_reason, status_differs
from .following import Following
from .locks import RRLocks
from .namespace_inputs import NamespaceInputsCache
from .savings import SavingsPricer
from .status_patch import compose_status_patch
from .usage_reader import UsageSource, usage_verdict
from .write_ahead import Hook, PlannedChange, WriteAhead

log = structlog.get_logger("krr_mcp.operator")


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


class Reconciler:
    """One RR at a time: `reconcile(namespace, name)` reads it fresh and carries out its decision."""

    def __init__(self, kube: Kube, settings: ReconcileSettings | None = None) -> None:
        self.kube = kube
        self.settings = settings or ReconcileSettings()
        self.audit = Auditor(kube, self.settings.now)
        self.locks = RRLocks()
        self.following = Following()  # the RRs whose rollout is under way, by workload
        self.namespace_inputs = NamespaceInputsCache(
            partial(read_namespace_inputs, kube),
            self.settings.context_ttl,
            lambda: self.settings.now().timestamp(),
        )
        source = self.settings.usage_source
        checks = OperatorChecks(
            bridge_field_manager=self.settings.bridge_field_manager,
            auto_rollback_enabled=self.settings.auto_rollback,
            approval_gate_problem=self.settings.approval_gate.current,
            usage_verdict=partial(usage_verdict, source) if source is not None else None,
        )
        self.gatherer = InputsGatherer(kube, self.namespace_inputs.get, checks)
        self.write_ahead = WriteAhead(kube, self.audit, self.settings.hook)
        self.savings = SavingsPricer(kube)

    def reconcile(
        self, namespace: str, name: str, siblings: list[dict[str, Any]] | None = None
    ) -> Decision | None:
        """Decide and act for the RR `namespace/name`; the decision taken (None: the RR is gone).

        `siblings`: the RRs for the same workload (the kopf handlers pass them from an in-memory index);
        None lists the namespace's RRs from the API server."""
        with self.locks.held(namespace, name):
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
            fields = compose_status_patch(rr, workload, decision, now)
            self.write_ahead.change(PlannedChange(rr, workload, decision, now, fields))
        elif decision.action == Action.RESUME:
            self.write_ahead.resume(rr, workload, decision, now)
        else:
            self._settle(inputs, decision)
        return decision

    def _pricing_policy(self, inputs: DecisionInputs) -> PolicySpec | None:
        """The policy `status.savings` is priced under: only when this pass read the namespace's inputs
        (the safety check or a rollback's bound); None otherwise."""
        policy = inputs.policy
        if policy is None and inputs.safety is not None:
            namespace = inputs.rr["metadata"]["namespace"]
            policy = self.namespace_inputs.get(namespace).policy  # cached by the safety check
        return policy

    def _settle(self, inputs: DecisionInputs, decision: Decision) -> None:
        """Record a decision that does not touch the workload (only when it changes the status)."""
        rr, workload, now = inputs.rr, inputs.workload, inputs.now
        status = rr.get("status") or {}
        patch = compose_status_patch(
            rr,
            workload,
            decision,
            now,
            report=inputs.safety,
            superseded_by=inputs.superseded_by,
        )
        new = next_status(status, decision, now, rr["metadata"].get("generation"), **patch.fields())
        new = self.savings.update(new, rr, workload, self._pricing_policy(inputs), now)
        if not status_differs(status, new):
            return
        self.audit.write_status(rr, new)
        moved = (status.get("phase"), ready_reason(status)) != (str(decision.phase), decision.reason)
        self.audit.record(rr, decision, str(decision.phase), workload=workload, event=moved)
