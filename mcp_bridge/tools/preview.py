"""preview_change: the exact patch, the API server's dry-run verdict and the safety report; writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from krr_mcp.api.resource_recommendation import ContainerChange, ContainerResources, SafetyReport
from krr_mcp.core.patches import desired_resources
from krr_mcp.core.safety import workload as workload_shape
from krr_mcp.core.workloads import describe
from krr_mcp.kube.client import Forbidden, KubeError
from krr_mcp.kube.dry_run import DryRunResult, dry_run
from krr_mcp.recommenders import ScanResult

from ..bridge import Bridge
from ..cluster import explain_error
from ..inputs import ContainerChoice, Namespace, ObjectName, ScanId, WorkloadChoice, WorkloadKindName
from ..proposals import (
    MANUAL_EVIDENCE,
    PlannedRecommendation,
    ProposalRefused,
    plan_proposal,
    refusal_text,
)
from ..scans import evidence_from_scan
from ..untrusted import UNTRUSTED_DESCRIPTION, Untrusted, quote, untrusted
from .common import READ_ONLY, in_thread, kept_scan, tool_errors, tool_result


class ContainerPreview(BaseModel):
    name: str
    current: ContainerResources
    proposed: ContainerResources
    resources_before: dict[str, Any] = Field(description="The container's whole `resources` now.")
    resources_after: dict[str, Any] = Field(description="Its whole `resources` after the change.")


class DryRunOutcome(BaseModel):
    accepted: bool | None = Field(
        description="The API server accepted (true) or refused (false) the patch with dryRun=All (refused: "
        "by validation, an admission policy or a webhook); null when the bridge's identity may not send "
        "dry-run patches (RBAC), so only the local checks ran."
    )
    message: str = Field(description="The bridge's and operator's own words about the dry run.")
    server_answer: Untrusted | None = Field(
        default=None,
        description="What the API server (or an admission webhook) answered to a refused patch, as "
        '{"untrusted": ...}: ' + UNTRUSTED_DESCRIPTION,
    )
    resulting_resources: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per container, `resources` in the object the dry run returned."
    )
    nothing_persisted: bool | None = Field(
        default=None,
        description="Checked after an accepted dry run: true when the answer and a re-read of the workload "
        "carry the resourceVersion read before it (nothing was written); false when it moved (the change "
        "may have been persisted, or someone else changed the workload); null when no patch was sent.",
    )


class PreviewResult(BaseModel):
    target: str
    containers: list[ContainerPreview]
    patch: list[dict[str, Any]] = Field(
        description="The RFC 6902 JSON patch the operator would apply, `test` preconditions included "
        "(empty when the operator would not apply this change; `dry_run.message` says why)."
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


def operator_dry_run(bridge: Bridge, plan: PlannedRecommendation) -> DryRunResult:
    """The operator's own decision and patch for this proposal as if approved, sent with dryRun=All."""
    try:
        return dry_run(bridge.cluster.kube, plan.manifest)
    except KubeError as exc:
        raise explain_error(exc, f"the dry run of {plan.kind} {plan.namespace}/{plan.name}") from None


def persistence_check(bridge: Bridge, plan: PlannedRecommendation, result: DryRunResult) -> tuple[bool, str]:
    """Whether an accepted dry run left the workload as it was: its answer and a re-read must carry
    the resourceVersion read before it. (An API server or webhook that ignores dryRun would move it.)"""
    before = str((plan.workload.get("metadata") or {}).get("resourceVersion") or "")
    answered = str(((result.result or {}).get("metadata") or {}).get("resourceVersion") or "")
    now = bridge.cluster.read_workload(plan.namespace, plan.kind, plan.name)
    after = str((now.get("metadata") or {}).get("resourceVersion") or "")
    if before and answered == before and after == before:
        return True, f"nothing was persisted (resourceVersion {before} unchanged, re-read after the dry run)"
    return False, (
        f"but the workload's resourceVersion moved ({before or '?'} before, {answered or '?'} in the dry-run "
        f"answer, {after or '?'} re-read): the change may have been persisted, or someone else changed "
        f"the workload; check it with kubectl get {plan.kind.lower()} {plan.name} -n {plan.namespace}"
    )


def dry_run_outcome(result: DryRunResult) -> DryRunOutcome:
    """The dry run as the assistant sees it. `Forbidden` means the bridge's identity may not send
    dry-run patches (Kubernetes authorizes them like real ones): that says nothing about the change
    itself. An admission policy's or webhook's denial (`AdmissionDenied`, also HTTP 403) is a verdict
    on the change: refused, with the server's answer."""
    if isinstance(result.error, Forbidden):
        return DryRunOutcome(
            accepted=None,
            message="the server-side dry run was not run: the bridge's identity may not send dry-run patches "
            "(RBAC `patch` on the workload); the patch and the safety report were computed locally",
        )
    return DryRunOutcome(
        accepted=result.accepted,
        message=result.message,
        server_answer=untrusted(result.server_answer) if result.server_answer is not None else None,
        resulting_resources=result.resulting_resources(),
    )


def preview(
    bridge: Bridge, proposal: WorkloadChoice, scan: ScanResult | None = None, scan_id: str | None = None
) -> PreviewResult:
    """Check the proposal exactly as propose_change would (the scan's numbers and usage, refusing
    protected namespaces, unknown targets and containers), then ask the operator's dry run what
    applying it would do. Writes nothing."""
    now = datetime.now(UTC)
    try:
        plan = plan_proposal(
            bridge,
            proposal,
            reason="preview",
            evidence=evidence_from_scan(scan, scan_id) if scan else MANUAL_EVIDENCE,
            auto_rollback=True,
            expires_in=timedelta(hours=1),
            now=now,
            refuse_unsafe=False,
            scan=scan,
        )
    except ProposalRefused as exc:
        raise ToolError(f"preview_change refused: {exc}") from None
    result = operator_dry_run(bridge, plan)
    changes = result.changes or container_changes(plan)
    safety = result.safety or plan.safety
    outcome = dry_run_outcome(result)
    if result.accepted:
        unchanged, said = persistence_check(bridge, plan, result)
        outcome = outcome.model_copy(
            update={"nothing_persisted": unchanged, "message": f"{outcome.message}; {said}"}
        )
    after = {c.name: c for c in changes}
    return PreviewResult(
        target=f"{plan.kind} {plan.namespace}/{plan.name}",
        containers=[
            ContainerPreview(
                name=c.name,
                current=c.current,
                proposed=c.proposed,
                resources_before=after[c.name].before if c.name in after else {},
                resources_after=after[c.name].after if c.name in after else {},
            )
            for c in plan.spec.containers
        ],
        patch=result.patch,
        dry_run=outcome,
        safety=safety,
        restart_impact=restart_impact(plan.workload),
        would_be_refused=not safety.allowed or outcome.accepted is False,
    )


_VERDICT = {True: "accepted", False: "REJECTED", None: "not run"}


def render(result: PreviewResult) -> str:
    persisted = result.dry_run.nothing_persisted
    header = {
        True: "nothing was changed, checked",
        False: "WARNING: the workload's resourceVersion moved, see the dry run below",
        None: "the patch was not sent or not accepted",
    }[persisted]
    lines = [f"Preview of {result.target} ({header}):"]
    for c in result.containers:
        lines.append(f"- {c.name}: {describe(c.current)} -> {describe(c.proposed)}")
    answer = result.dry_run.server_answer
    said = f"; the API server said: {quote(answer.untrusted)}" if answer is not None else ""
    lines.append(f"Dry run: {_VERDICT[result.dry_run.accepted]}: {result.dry_run.message}{said}")
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
        containers: Annotated[list[ContainerChoice], Field(min_length=1, max_length=64)],
        scan_id: ScanId | None = None,
        within_max_step: bool = False,
    ) -> Annotated[CallToolResult, PreviewResult]:
        """Preview what propose_change would propose for a workload's containers, without changing
        anything: the numbers (the scan's recommendation, or `override` values the user asked for),
        the exact JSON patch the operator would apply, the API server's dry-run verdict, and the safety
        report checked against the scan's observed usage (risk, refused rules, HPA/LimitRange/quota/QoS
        effects, restart impact). Takes the same scan_id, containers and within_max_step as
        propose_change."""
        proposal = WorkloadChoice(
            namespace=namespace, kind=kind, name=name, containers=containers, within_max_step=within_max_step
        )
        scan = kept_scan(bridge, scan_id, "preview_change")
        with tool_errors(f"preview of {kind} {namespace}/{name}"):
            result = await in_thread(preview, bridge, proposal, scan, scan_id)
        return tool_result(result, render(result))
