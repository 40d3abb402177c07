"""Turning an assistant's proposal into RR manifests, checked against the live cluster first.

`plan_proposals` reads each target workload, refuses protected namespaces, unknown containers and
whatever the safety rules refuse, and returns the manifests it would create. It writes nothing; the
propose tool creates the manifests only after this succeeds for every proposal (all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import (
    ContainerRecommendation,
    ContainerResources,
    ContainerUsage,
    Evidence,
    ResourceAmounts,
    ResourceRecommendationSpec,
    SafetyReport,
    ValuesFrom,
)
from krr_mcp.core import safety
from krr_mcp.core.safety import workload as workload_shape
from krr_mcp.core.safety.container_rules import within_max_step
from krr_mcp.core.workloads import describe
from krr_mcp.recommenders import ContainerScan, ScanResult

from .bridge import Bridge
from .inputs import ContainerProposal, WorkloadChoice, WorkloadProposal
from .manifests import build_recommendation_manifest
from .scans import usage_by_container


class ProposalRefused(Exception):
    """A proposal the bridge will not turn into an RR; the message says why, for the assistant."""


# Numbers proposed without a scan of the bridge's: no usage evidence, shown to the reviewer as manual.
MANUAL_EVIDENCE = Evidence(source="manual", strategy="manual", scannedAt=None)


@dataclass
class PlannedRecommendation:
    """One RR the bridge is ready to create, with the workload it was checked against."""

    namespace: str
    kind: str
    name: str
    workload: dict[str, Any]
    spec: ResourceRecommendationSpec
    safety: SafetyReport
    manifest: dict[str, Any]


def current_resources(container: dict[str, Any]) -> ContainerResources:
    """A live container's CPU/memory requests and limits (other resources are ignored)."""
    resources = container.get("resources") or {}

    def amounts(section: str) -> ResourceAmounts:
        values = resources.get(section) or {}
        return ResourceAmounts(
            cpu=str(values["cpu"]) if "cpu" in values else None,
            memory=str(values["memory"]) if "memory" in values else None,
        )

    return ContainerResources(requests=amounts("requests"), limits=amounts("limits"))


def container_recommendations(
    proposal: WorkloadProposal,
    workload: dict[str, Any],
    usage: dict[str, ContainerUsage] | None = None,
    values_from: dict[str, ValuesFrom] | None = None,
) -> list[ContainerRecommendation]:
    """Pair each proposed container with its live resources, the usage the bridge observed (`usage`,
    from its own scan; never from the assistant) and where its numbers came from (`values_from`);
    refuse containers the workload lacks."""
    live = {c.get("name"): c for c in workload_shape.containers(workload)}
    where = f"{proposal.kind} {proposal.namespace}/{proposal.name}"
    result = []
    seen: set[str] = set()
    for wanted in proposal.containers:
        if wanted.name in seen:
            raise ProposalRefused(f"container {wanted.name} is proposed twice for {where}")
        seen.add(wanted.name)
        if wanted.name not in live:
            names = ", ".join(sorted(str(n) for n in live)) or "none"
            raise ProposalRefused(f"container {wanted.name} is not in {where} (its containers: {names})")
        result.append(
            ContainerRecommendation(
                name=wanted.name,
                current=current_resources(live[wanted.name]),
                proposed=ContainerResources(requests=wanted.requests, limits=wanted.limits),
                usage=(usage or {}).get(wanted.name),
                valuesFrom=(values_from or {}).get(wanted.name),
            )
        )
    return result


def observed_usage(scan: ScanResult, proposal: WorkloadProposal) -> dict[str, ContainerUsage]:
    """What the scan observed for each proposed container; ProposalRefused for one it did not see."""
    usage = usage_by_container(scan, proposal.namespace, proposal.kind, proposal.name)
    where = f"{proposal.kind} {proposal.namespace}/{proposal.name}"
    for container in proposal.containers:
        if container.name not in usage:
            raise ProposalRefused(
                f"the scan has no usage for container {container.name} of {where}: scan that workload "
                "(scan_recommendations) and give its scan_id"
            )
    return usage


def _scan_recommendation(scan: ScanResult | None, choice: WorkloadChoice, container: str) -> ContainerScan:
    """The scan's complete recommendation for one container of the chosen workload, or ProposalRefused."""
    where = f"container {container} of {choice.kind} {choice.namespace}/{choice.name}"
    if scan is None:
        raise ProposalRefused(
            f"no scan_id: name the scan whose recommendation to propose for {where} (scan_recommendations "
            "returns it); give override values only when the user asked for specific numbers"
        )
    target = (choice.namespace, choice.kind, choice.name, container)
    item = next((i for i in scan.items if (i.namespace, i.kind, i.name, i.container) == target), None)
    if item is None:
        raise ProposalRefused(
            f"the scan has no recommendation for {where}: scan that workload and give its scan_id"
        )
    if not item.proposable or item.recommended is None:
        why = item.error or f"no recommendation for {', '.join(item.unknown) or 'it'}"
        raise ProposalRefused(
            f"the scan's recommendation for {where} is incomplete ({why}): it cannot be proposed"
        )
    return item


def resolve_choice(
    choice: WorkloadChoice, scan: ScanResult | None, policy: PolicySpec, workload: dict[str, Any]
) -> tuple[WorkloadProposal, dict[str, ValuesFrom]]:
    """The numbers to propose for each chosen container and where they came from: the scan's
    recommendation (limited to the policy's max step from the live values when `within_max_step`), or
    the override the assistant gave, recorded as its assertion."""
    live = {c.get("name"): c for c in workload_shape.containers(workload)}
    containers: list[ContainerProposal] = []
    values_from: dict[str, ValuesFrom] = {}
    for chosen in choice.containers:
        origin: ValuesFrom
        if chosen.override is not None:
            values = ContainerResources(requests=chosen.override.requests, limits=chosen.override.limits)
            origin = "assistant"
        else:
            recommended = _scan_recommendation(scan, choice, chosen.name).recommended
            assert recommended is not None  # _scan_recommendation refuses an incomplete one
            values, origin = recommended, "scan"
            if choice.within_max_step and chosen.name in live:
                stepped = within_max_step(current_resources(live[chosen.name]), values, policy)
                if stepped != values:
                    values, origin = stepped, "scan-within-max-step"
        containers.append(ContainerProposal(name=chosen.name, requests=values.requests, limits=values.limits))
        values_from[chosen.name] = origin
    proposal = WorkloadProposal(
        namespace=choice.namespace, kind=choice.kind, name=choice.name, containers=containers
    )
    return proposal, values_from


def refusal_text(report: SafetyReport) -> str:
    refusals = [f for f in report.findings if f.severity == "refuse"]
    return "; ".join(
        f"{f.rule}{' (' + f.container + ')' if f.container else ''}: {f.message}" for f in refusals
    )


def plan_proposal(
    bridge: Bridge,
    proposal: WorkloadProposal | WorkloadChoice,
    *,
    reason: str,
    evidence: Evidence,
    auto_rollback: bool,
    expires_in: timedelta | None,
    now: datetime | None = None,
    rollback_of: str | None = None,
    refuse_unsafe: bool = True,
    scan: ScanResult | None = None,
) -> PlannedRecommendation:
    """Check one proposal against the live cluster and the safety rules; raise ProposalRefused (for a
    safety refusal only when `refuse_unsafe`; a preview shows the refusing report instead). A
    `WorkloadChoice` takes its numbers from `scan` (`resolve_choice`); with a `scan`, each container's
    usage is the scan's."""
    now = now or datetime.now(UTC)
    unsafe_identity = bridge.identity_problem(proposal.namespace)
    if unsafe_identity:
        raise ProposalRefused(unsafe_identity)
    policy = bridge.policy_for(proposal.namespace)
    refused = bridge.protected_reason(proposal.namespace, policy)
    if refused:
        raise ProposalRefused(refused)
    workload = bridge.cluster.read_workload(proposal.namespace, proposal.kind, proposal.name)
    values_from: dict[str, ValuesFrom] = {}
    if isinstance(proposal, WorkloadChoice):
        proposal, values_from = resolve_choice(proposal, scan, policy, workload)
    elif rollback_of:
        values_from = {c.name: "rollback" for c in proposal.containers}
    usage = observed_usage(scan, proposal) if scan else None
    containers = container_recommendations(proposal, workload, usage, values_from)
    manifest = build_recommendation_manifest(
        namespace=proposal.namespace,
        kind=proposal.kind,
        target_name=proposal.name,
        containers=containers,
        evidence=evidence,
        reason=reason,
        auto_rollback=auto_rollback,
        expires_in=expires_in,
        rollback_of=rollback_of,
        now=now,
    )
    spec = ResourceRecommendationSpec.model_validate(manifest["spec"])
    context = bridge.cluster_context(proposal.namespace)
    report = safety.evaluate(spec, workload, context, policy, now)
    where = f"{proposal.kind} {proposal.namespace}/{proposal.name}"
    if refuse_unsafe and not report.allowed:
        raise ProposalRefused(f"the safety rules refuse the change to {where}: {refusal_text(report)}")
    return PlannedRecommendation(
        namespace=proposal.namespace,
        kind=proposal.kind,
        name=proposal.name,
        workload=workload,
        spec=spec,
        safety=report,
        manifest=manifest,
    )


class PlannedSummary(BaseModel):
    """What one planned RR will change (used for the confirmation question and the result)."""

    target: str
    risk: str
    changes: list[str]


def summarize_plan(plan: PlannedRecommendation) -> PlannedSummary:
    return PlannedSummary(
        target=f"{plan.kind} {plan.namespace}/{plan.name}",
        risk=str(plan.safety.risk),
        changes=[f"{c.name}: {describe(c.current)} -> {describe(c.proposed)}" for c in plan.spec.containers],
    )
