"""What `decide` reads about one RR, gathered from the cluster: one gatherer for the operator's
reconcile and the dry run (the bridge's preview), so that both decide once on the same inputs.

The reads, in order: nothing is requested with an RR's fields before they are validated (`valid_target`);
the workload's pods only while a change of it is followed and its controller has taken the change up
(no pod of the new template exists before); the namespace's policy once a change was made (its ceilings
bound what a rollback restores), else the safety rules' report on the live workload (the namespace's
context and policy). `OperatorChecks` are the operator's own inputs (who approved, the approval gate,
newer RRs, auto-rollback, the usage re-read); a dry run, which assumes a human approved just now, has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from krr_mcp.api.names import BRIDGE_NAME
from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import (
    Phase,
    ResourceRecommendationSpec,
    SafetyReport,
    newer_overlapping,
    valid_target,
)
from krr_mcp.core import safety
from krr_mcp.core.decisions import DecisionInputs
from krr_mcp.core.rollout import controller_caught_up
from krr_mcp.core.safety import NamespaceInputs
from krr_mcp.core.usage_recheck import UsageVerdict

from .client import Kube
from .loaders import load_cluster_context, load_policy

NamespaceInputsSource = Callable[[str], NamespaceInputs]
"""The namespace's safety inputs (the operator's: a short-lived cache; the dry run's: read fresh)."""

UsageCheck = Callable[[dict[str, Any], datetime], UsageVerdict | None]
"""What the usage Prometheus shows now says about applying the RR (None: nothing against it)."""


def read_namespace_inputs(kube: Kube, namespace: str) -> NamespaceInputs:
    """The namespace's context and effective policy, read now."""
    return NamespaceInputs(load_cluster_context(kube, namespace), load_policy(kube, namespace))


def changed_before(status: dict[str, Any]) -> bool:
    """Whether a change of this RR took effect or may have (a Succeeded or Pending history entry)."""
    return any(entry.get("outcome") in ("Succeeded", "Pending") for entry in status.get("history") or [])


def _no_gate_problem() -> str | None:
    return None


@dataclass(frozen=True)
class OperatorChecks:
    """The operator's own inputs of a decision (none of them is part of a dry run)."""

    bridge_field_manager: str = BRIDGE_NAME  # whose writes to an approval are not a human's
    auto_rollback_enabled: bool = True
    approval_gate_problem: Callable[[], str | None] = field(default=_no_gate_problem)
    usage_verdict: UsageCheck | None = None  # None: usage is not re-read before applying


class InputsGatherer:
    """`gather(rr, now)`: the `DecisionInputs` of `rr` as the cluster shows them now."""

    def __init__(
        self,
        kube: Kube,
        namespace_inputs: NamespaceInputsSource | None = None,
        checks: OperatorChecks | None = None,
    ) -> None:
        self.kube = kube
        self.namespace_inputs = namespace_inputs or (lambda namespace: read_namespace_inputs(kube, namespace))
        self.checks = checks

    def gather(
        self, rr: dict[str, Any], now: datetime, siblings: list[dict[str, Any]] | None = None
    ) -> DecisionInputs:
        """The inputs of `decide` for `rr` at `now`.

        `siblings`: the RRs for the same workload (the kopf handlers pass them from an in-memory index);
        None lists the namespace's RRs from the API server (only with `checks`: the supersede search is
        the operator's).
        """
        namespace = rr["metadata"]["namespace"]
        checks = self.checks
        gate_problem = checks.approval_gate_problem() if checks is not None else None
        target = valid_target(rr)
        workload = self.kube.get_workload(namespace, target.kind, target.name) if target else None
        status = rr.get("status") or {}
        last_change = (status.get("history") or [{}])[-1]
        pods = None
        if (
            workload is not None
            and status.get("phase") in (Phase.APPLYING, Phase.ROLLING_BACK)
            and controller_caught_up(workload, last_change.get("workloadGenerationAfter"))
        ):
            pods = self.pods(namespace, workload)
        report: SafetyReport | None = None
        verdict: UsageVerdict | None = None
        superseded_by: str | None = None
        policy: PolicySpec | None = None
        if changed_before(status):
            policy = self.namespace_inputs(namespace).policy
        else:
            if checks is not None:
                found = siblings if siblings is not None else self.kube.list_rrs(namespace)
                superseded_by = newer_overlapping(rr, found)
            if workload is not None:
                report = self.safety_report(rr, workload, now)
                if checks is not None and checks.usage_verdict is not None:
                    verdict = checks.usage_verdict(rr, now)
        if checks is None:
            return DecisionInputs(rr, workload, now, safety=report, pods=pods, policy=policy)
        return DecisionInputs(
            rr,
            workload,
            now,
            safety=report,
            provenance_problem=safety.approval_provenance_problem(rr, checks.bridge_field_manager),
            superseded_by=superseded_by,
            auto_rollback_enabled=checks.auto_rollback_enabled,
            pods=pods,
            policy=policy,
            approval_gate_problem=gate_problem,
            usage_verdict=verdict,
        )

    def safety_report(
        self, rr: dict[str, Any], workload: dict[str, Any], now: datetime
    ) -> SafetyReport | None:
        """The safety rules' verdict on applying `rr` to the live workload now (None: spec unreadable)."""
        try:
            spec = ResourceRecommendationSpec.model_validate(rr.get("spec") or {})
        except ValidationError:
            return None
        found = self.namespace_inputs(rr["metadata"]["namespace"])
        return safety.evaluate(spec, workload, found.context, found.policy, now)

    def pods(self, namespace: str, workload: dict[str, Any]) -> list[dict[str, Any]]:
        """The workload's pods by its selector's matchLabels (CronJobs: none; followed by status)."""
        labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not labels:
            return []
        return self.kube.list_pods(namespace, ",".join(f"{k}={v}" for k, v in sorted(labels.items())))
