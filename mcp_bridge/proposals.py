"""Turning an assistant's proposal into RR manifests, checked against the live cluster first.

`plan_proposals` reads each target workload, refuses protected namespaces, unknown containers and
whatever the safety rules refuse, and returns the manifests it would create. It writes nothing; the
propose tool creates the manifests only after this succeeds for every proposal (all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from krr_operator import safety
from krr_operator.api.resource_recommendation import (
    ContainerRecommendation,
    ContainerResources,
    ContainerUsage,
    Evidence,
    ResourceAmounts,
    ResourceRecommendationSpec,
    SafetyReport,
)
from krr_operator.safety import workload as workload_shape
from pydantic import BaseModel

from .bridge import Bridge
from .inputs import ContainerProposal, WorkloadProposal
from .manifests import build_recommendation_manifest


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
    proposal: WorkloadProposal, workload: dict[str, Any], usage: dict[str, ContainerUsage] | None = None
) -> list[ContainerRecommendation]:
    """Pair each proposed container with its live resources and the usage the bridge observed (`usage`,
    from its own scan; never from the assistant); refuse containers the workload lacks."""
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
        result.append(_recommendation(wanted, live[wanted.name], (usage or {}).get(wanted.name)))
    return result


def _recommendation(
    wanted: ContainerProposal, live: dict[str, Any], usage: ContainerUsage | None
) -> ContainerRecommendation:
    return ContainerRecommendation(
        name=wanted.name,
        current=current_resources(live),
        proposed=ContainerResources(requests=wanted.requests, limits=wanted.limits),
        usage=usage,
    )


def refusal_text(report: SafetyReport) -> str:
    refusals = [f for f in report.findings if f.severity == "refuse"]
    return "; ".join(
        f"{f.rule}{' (' + f.container + ')' if f.container else ''}: {f.message}" for f in refusals
    )


def plan_proposal(
    bridge: Bridge,
    proposal: WorkloadProposal,
    *,
    reason: str,
    evidence: Evidence,
    auto_rollback: bool,
    expires_in: timedelta | None,
    now: datetime | None = None,
    rollback_of: str | None = None,
    refuse_unsafe: bool = True,
    usage: dict[str, ContainerUsage] | None = None,
) -> PlannedRecommendation:
    """Check one proposal against the live cluster and the safety rules; raise ProposalRefused (for a
    safety refusal only when `refuse_unsafe`; a preview shows the refusing report instead)."""
    now = now or datetime.now(UTC)
    policy = bridge.policy_for(proposal.namespace)
    refused = bridge.protected_reason(proposal.namespace, policy)
    if refused:
        raise ProposalRefused(refused)
    workload = bridge.cluster.read_workload(proposal.namespace, proposal.kind, proposal.name)
    containers = container_recommendations(proposal, workload, usage)
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


def describe_amounts(resources: ContainerResources) -> str:
    r, lim = resources.requests, resources.limits
    return (
        f"requests cpu={r.cpu or '-'} memory={r.memory or '-'}, "
        f"limits cpu={lim.cpu or '-'} memory={lim.memory or '-'}"
    )


def summarize_plan(plan: PlannedRecommendation) -> PlannedSummary:
    return PlannedSummary(
        target=f"{plan.kind} {plan.namespace}/{plan.name}",
        risk=str(plan.safety.risk),
        changes=[
            f"{c.name}: {describe_amounts(c.current)} -> {describe_amounts(c.proposed)}"
            for c in plan.spec.containers
        ],
    )
