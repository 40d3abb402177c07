"""scan_recommendations and explain_recommendation: the recommenders, read-only, with progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from krr_operator.api.resource_recommendation import ContainerResources, ContainerUsage
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from ..bridge import Bridge
from ..inputs import ContainerName, Namespace, ObjectName, WorkloadKindName
from ..recommenders import (
    ContainerScan,
    Explanation,
    HpaInfo,
    KrrCliError,
    KrrOutputError,
    PrometheusError,
    ReportError,
    SavedReport,
    ScanError,
    ScanFilters,
    ScanRequest,
    ScanResult,
    ScanSummary,
    SelectorError,
    explain,
    filter_recommendations,
    get_recommendations,
)
from .common import READ_ONLY_OPEN_WORLD, tool_errors, tool_result

Severity = Literal["UNKNOWN", "GOOD", "OK", "WARNING", "CRITICAL"]
Source = Literal["auto", "krr", "native"]
HistoryHours = Annotated[float, Field(ge=1, le=24 * 90, description="How much usage history to read.")]
CpuPercentile = Annotated[float, Field(gt=0, le=100, description="CPU request = this percentile of usage.")]
MemoryBuffer = Annotated[float, Field(gt=0, le=1000, description="Memory = peak working set + this %.")]
PointsRequired = Annotated[int, Field(ge=1, le=100_000, description="Data points needed per container.")]


class ScanItem(BaseModel):
    """One container: current vs recommended resources, severity, and the evidence."""

    namespace: str
    kind: str
    name: str
    container: str
    current: ContainerResources
    recommended: ContainerResources | None
    severity: str
    proposable: bool = Field(description="False when the recommendation is incomplete: never propose it.")
    unknown: list[str]
    usage: ContainerUsage
    info: dict[str, str]
    warnings: list[str]
    error: str | None
    hpa: HpaInfo | None


class ScanOutput(BaseModel):
    source: str
    source_reason: str
    strategy: str
    settings: dict[str, Any]
    summary: ScanSummary = Field(description="krr-style summary of the items below (before `limit`).")
    items: list[ScanItem]
    truncated: bool
    errors: list[ScanError]
    warnings: list[ScanError] = Field(
        default_factory=list, description="What the recommender only warns about: the scan went on."
    )
    scanned_at: datetime
    report: SavedReport | None = Field(
        default=None,
        description="Set when the numbers come from a saved report (which file, produced when and by "
        "what), not from a live scan: say so to the user.",
    )


class ExplainOutput(BaseModel):
    item: ScanItem
    explanation: Explanation


def scan_item(scan: ContainerScan) -> ScanItem:
    return ScanItem(
        namespace=scan.namespace,
        kind=scan.kind,
        name=scan.name,
        container=scan.container,
        current=scan.current,
        recommended=scan.recommended,
        severity=scan.severity,
        proposable=scan.proposable,
        unknown=list(scan.unknown),
        usage=scan.usage,
        info=scan.info,
        warnings=scan.warnings,
        error=scan.error,
        hpa=scan.hpa,
    )


async def run_scan(bridge: Bridge, request: ScanRequest, ctx: Context | None) -> ScanResult:
    """Run the recommenders, reporting progress to the client; their failures become tool errors."""
    progress = ctx.report_progress if ctx is not None else None
    try:
        return await get_recommendations(request, progress=progress, kube_api=bridge.cluster.api_client)
    except (KrrCliError, KrrOutputError, PrometheusError, ReportError, SelectorError) as exc:
        raise ToolError(f"the scan failed: {exc}") from None


def render_scan(out: ScanOutput) -> str:
    s = out.summary
    lines = [
        f"Scanned {s.containers} container(s) with {out.source} ({out.source_reason}); "
        f"{s.proposable} proposable, {s.missing_data} without enough data, {s.errors} error(s).",
        f"By severity: {', '.join(f'{k} {v}' for k, v in sorted(s.by_severity.items())) or 'none'}. "
        f"Request savings: {s.cpu_request_savings_cores:.3f} cores, "
        f"{s.memory_request_savings_bytes / 2**20:.0f}Mi.",
    ]
    if out.report:
        lines.insert(
            0,
            f"FROM A SAVED REPORT, not a live scan: {out.report.path}, produced by "
            f"{out.report.recorded_source} at {out.report.recorded_at.isoformat(timespec='seconds')}.",
        )
    for i in out.items[:50]:
        rec = i.recommended.requests if i.recommended else None
        lines.append(
            f"- [{i.severity}] {i.kind} {i.namespace}/{i.name} {i.container}: requests cpu "
            f"{i.current.requests.cpu or '-'} -> {rec.cpu if rec else '?'}, memory "
            f"{i.current.requests.memory or '-'} -> {rec.memory if rec else '?'}"
            f"{'' if i.proposable else ' (not proposable)'}"
        )
    if len(out.items) > 50:
        lines.append(f"... {len(out.items) - 50} more in the structured result.")
    lines.extend(f"error: {e.message}" for e in out.errors[:10])
    lines.extend(f"warning: {w.message}" for w in out.warnings[:10])
    return "\n".join(lines)


def register(server: MCPServer, bridge: Bridge) -> None:
    settings = bridge.settings

    def request(**fields: Any) -> ScanRequest:
        return ScanRequest(
            prometheus_url=settings.prometheus_url,
            report_path=settings.scan_report,
            kubeconfig=settings.kubeconfig,  # krr scans the bridge's cluster, nothing else
            kube_context=settings.context,
            **fields,
        )

    @server.tool(title="Scan workloads for right-sizing recommendations", annotations=READ_ONLY_OPEN_WORLD)
    async def scan_recommendations(
        ctx: Context,
        namespaces: Annotated[
            list[Namespace],
            Field(max_length=100, description="Namespaces to scan; empty: all but kube-system."),
        ] = [],  # noqa: B006 (never mutated)
        label_selector: Annotated[
            str | None, Field(max_length=1024, description="Workload label selector (a=b,c!=d).")
        ] = None,
        kinds: Annotated[
            list[WorkloadKindName], Field(max_length=4, description="Workload kinds; empty: all.")
        ] = [],  # noqa: B006
        names: Annotated[
            list[ObjectName], Field(max_length=100, description="Workload names; empty: all.")
        ] = [],  # noqa: B006
        history_hours: HistoryHours = 336,
        cpu_percentile: CpuPercentile = 95,
        memory_buffer_pct: MemoryBuffer = 15,
        points_required: PointsRequired = 100,
        source: Annotated[
            Source | None, Field(description="Recommender; default: the server's --source.")
        ] = None,
        min_severity: Annotated[
            Severity | None, Field(description="Only containers at least this severe.")
        ] = None,
        include_missing_data: Annotated[
            bool, Field(description="Include containers without a usable recommendation.")
        ] = True,
        limit: Annotated[
            int, Field(ge=1, le=5000, description="At most this many items are returned.")
        ] = 500,
    ) -> Annotated[CallToolResult, ScanOutput]:
        """Scan workloads with krr's simple strategy (the krr CLI, or the native engine on Prometheus):
        per container, current vs recommended CPU/memory, severity, usage evidence, and the krr-style
        summary. Reports progress during long scans. Changes nothing."""
        with tool_errors("scan_recommendations"):
            scan_request = request(
                namespaces=namespaces,
                label_selector=label_selector,
                kinds=kinds,
                names=names,
                history_hours=history_hours,
                cpu_percentile=cpu_percentile,
                memory_buffer_pct=memory_buffer_pct,
                points_required=points_required,
                source=source or settings.source,
            )
            result = await run_scan(bridge, scan_request, ctx)
            try:
                filtered = filter_recommendations(
                    result,
                    ScanFilters(
                        namespaces=namespaces,
                        names=names,
                        label_selector=label_selector,
                        kinds=list(kinds),
                        min_severity=min_severity,
                        include_missing_data=include_missing_data,
                    ),
                )
            except SelectorError as exc:
                raise ToolError(f"scan_recommendations failed: {exc}") from None
        items = [scan_item(i) for i in filtered.items]
        out = ScanOutput(
            source=filtered.source,
            source_reason=filtered.source_reason,
            strategy=filtered.strategy,
            settings=filtered.settings,
            summary=filtered.summary,
            items=items[:limit],
            truncated=len(items) > limit,
            errors=filtered.errors,
            warnings=filtered.warnings,
            scanned_at=filtered.scanned_at,
            report=filtered.report,
        )
        return tool_result(out, render_scan(out))

    @server.tool(title="Explain one container's recommendation", annotations=READ_ONLY_OPEN_WORLD)
    async def explain_recommendation(
        ctx: Context,
        namespace: Namespace,
        kind: WorkloadKindName,
        name: ObjectName,
        container: ContainerName,
        history_hours: HistoryHours = 336,
        cpu_percentile: CpuPercentile = 95,
        memory_buffer_pct: MemoryBuffer = 15,
        points_required: PointsRequired = 100,
        source: Source | None = None,
    ) -> Annotated[CallToolResult, ExplainOutput]:
        """The numbers behind one container's recommendation: usage percentile and peaks per pod, data
        points, the buffer, what rounding and the minimum floors did, and any reason there is none."""
        with tool_errors("explain_recommendation"):
            scan_request = request(
                namespaces=[namespace],
                kinds=[kind],
                names=[name],
                history_hours=history_hours,
                cpu_percentile=cpu_percentile,
                memory_buffer_pct=memory_buffer_pct,
                points_required=points_required,
                source=source or settings.source,
            )
            result = await run_scan(bridge, scan_request, ctx)
        match = [
            i
            for i in result.items
            if (i.namespace, i.kind, i.name, i.container) == (namespace, kind, name, container)
        ]
        if not match:
            found = sorted({i.container for i in result.items if (i.namespace, i.name) == (namespace, name)})
            hint = (
                f" (containers found: {', '.join(found)})" if found else " (the scan found no such workload)"
            )
            raise ToolError(f"no recommendation for container {container} of {kind} {namespace}/{name}{hint}")
        explanation = explain(match[0])
        out = ExplainOutput(item=scan_item(match[0]), explanation=explanation)
        return tool_result(out, "\n".join(explanation.lines))
