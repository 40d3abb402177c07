"""preview_change: the exact patch, the API server's dry-run verdict and the safety report; writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from krr_operator.api.resource_recommendation import ContainerChange, ContainerResources, SafetyReport
from krr_operator.patches import PatchError, desired_resources, json_patch
from krr_operator.safety import workload as workload_shape
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from ..bridge import Bridge
from ..cluster import ClusterError
from ..inputs import ContainerProposal, Namespace, ObjectName, WorkloadKindName, WorkloadProposal
from ..proposals import (
    EvidenceInput,
    PlannedRecommendation,
    ProposalRefused,
    describe_amounts,
    plan_proposal,
    refusal_text,
)
from .common import READ_ONLY, in_thread, tool_errors, tool_result


class ContainerPreview(BaseModel):
    name: str
    current: ContainerResources
    proposed: ContainerResources
    resources_before: dict[str, Any] = Field(description="The container's whole `resources` now.")
    resources_after: dict[str, Any] = Field(description="Its whole `resources` after the change.")


class DryRunOutcome(BaseModel):
    accepted: bool = Field(description="The API server accepted the patch with dryRun=All.")
    message: str
    resulting_resources: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per container, `resources` in the object the dry run returned."
    )


class PreviewResult(BaseModel):
    target: str
    containers: list[ContainerPreview]
    patch: list[dict[str, Any]] = Field(
        description="The RFC 6902 JSON patch the operator would apply, `test` preconditions included."
    )
    dry_run: DryRunOutcome
    safety: SafetyReport
    restart_impact: str
    would_be_refused: bool = Field(description="propose_change would refuse this (safety or dry run).")


def restart_impact(workload: dict[str, Any]) -> str:
    kind = workload.get("kind")
    if kind == "CronJob":
        return "Takes effect from the next Job the CronJob starts; running Jobs keep their resources."
    pods = workload_shape.replicas(workload)
    return (
        f"Changing the pod template replaces all {pods} pod(s) of this {kind} "
        "(a rolling update following the workload's update strategy)."
    )


def container_changes(plan: PlannedRecommendation) -> list[ContainerChange]:
    """Each container's whole `resources` before and after (what the operator's patch moves between)."""
    live = {c.get("name"): c for c in workload_shape.containers(plan.workload)}
    changes = []
    for c in plan.spec.containers:
        before = dict(live[c.name].get("resources") or {})
        changes.append(
            ContainerChange(name=c.name, before=before, after=desired_resources(before, c.proposed))
        )
    return changes


def dry_run(bridge: Bridge, plan: PlannedRecommendation, patch: list[dict[str, Any]]) -> DryRunOutcome:
    try:
        result = bridge.cluster.dry_run_patch(plan.namespace, plan.kind, plan.name, patch)
    except ClusterError as exc:
        if exc.status in (400, 403, 409, 422):
            return DryRunOutcome(accepted=False, message=str(exc))
        raise
    resulting = {c.get("name"): dict(c.get("resources") or {}) for c in workload_shape.containers(result)}
    wanted = {c.name for c in plan.spec.containers}
    return DryRunOutcome(
        accepted=True,
        message="the API server accepted the patch (dry run: nothing was changed)",
        resulting_resources={k: v for k, v in resulting.items() if k in wanted},
    )


def preview(bridge: Bridge, proposal: WorkloadProposal) -> PreviewResult:
    try:
        plan = plan_proposal(
            bridge,
            proposal,
            reason="preview",
            evidence=EvidenceInput().to_evidence(datetime.now(UTC)),
            auto_rollback=True,
            expires_in=timedelta(hours=1),
            refuse_unsafe=False,
        )
    except ProposalRefused as exc:
        raise ToolError(f"preview_change refused: {exc}") from None
    changes = container_changes(plan)
    try:
        patch = json_patch(plan.kind, plan.workload, changes)
    except PatchError as exc:
        raise ToolError(f"preview_change failed: {exc}") from None
    outcome = dry_run(bridge, plan, patch)
    return PreviewResult(
        target=f"{plan.kind} {plan.namespace}/{plan.name}",
        containers=[
            ContainerPreview(
                name=c.name,
                current=c.current,
                proposed=c.proposed,
                resources_before=ch.before,
                resources_after=ch.after,
            )
            for c, ch in zip(plan.spec.containers, changes, strict=True)
        ],
        patch=patch,
        dry_run=outcome,
        safety=plan.safety,
        restart_impact=restart_impact(plan.workload),
        would_be_refused=not plan.safety.allowed or not outcome.accepted,
    )


def render(result: PreviewResult) -> str:
    lines = [f"Preview of {result.target} (nothing was changed):"]
    for c in result.containers:
        lines.append(f"- {c.name}: {describe_amounts(c.current)} -> {describe_amounts(c.proposed)}")
    lines.append(
        f"Dry run: {'accepted' if result.dry_run.accepted else 'REJECTED'}: {result.dry_run.message}"
    )
    verdict = "allowed" if result.safety.allowed else f"REFUSED ({refusal_text(result.safety)})"
    lines.append(f"Safety: risk {result.safety.risk}, {verdict}.")
    lines.extend(f"  {f.severity}: {f.message}" for f in result.safety.findings if f.rule != "risk")
    lines.append(f"Restart impact: {result.restart_impact}")
    lines.append(f"Patch: {len(result.patch)} operation(s), `test` preconditions included.")
    return "\n".join(lines)


def register(server: MCPServer, bridge: Bridge) -> None:
    @server.tool(title="Preview a resource change (dry run + safety report)", annotations=READ_ONLY)
    async def preview_change(
        namespace: Namespace,
        kind: WorkloadKindName,
        name: ObjectName,
        containers: Annotated[list[ContainerProposal], Field(min_length=1, max_length=64)],
    ) -> Annotated[CallToolResult, PreviewResult]:
        """Preview new CPU/memory requests and limits for a workload's containers without changing
        anything: the exact JSON patch the operator would apply, the API server's dry-run verdict, and
        the safety report (risk, refused rules, HPA/LimitRange/quota/QoS effects, restart impact).
        Give each container's complete desired requests and limits (a value left out is removed)."""
        proposal = WorkloadProposal(namespace=namespace, kind=kind, name=name, containers=containers)
        with tool_errors(f"preview of {kind} {namespace}/{name}"):
            result = await in_thread(preview, bridge, proposal)
        return tool_result(result, render(result))
