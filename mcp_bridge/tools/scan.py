"""scan_recommendations and explain_recommendation: the recommenders, read-only, with progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from krr_mcp.api.resource_recommendation import ContainerResources, ContainerUsage, Savings
from krr_mcp.recommenders import (
    ContainerScan,
    Explanation,
    HpaInfo,
    KrrCliError,
    KrrOutputError,
    PriceTable,
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
    namespace_summaries,
)

from ..bridge import Bridge
from ..identity import IMPERSONATE_USER
from ..inputs import ContainerName, Namespace, ObjectName, WorkloadKindName
from ..paging import DEFAULT_PAGE, MAX_PAGE, CursorError, decode_cursor, encode_cursor, fingerprint, offset_of
from ..pricing import bridge_prices
from .common import READ_ONLY_OPEN_WORLD, tool_errors, tool_result

Severity = Literal["UNKNOWN", "GOOD", "OK", "WARNING", "CRITICAL"]
Source = Literal["auto", "krr", "native"]
HistoryHours = Annotated[float, Field(ge=1, le=24 * 90, description="How much usage history to read.")]
CpuPercentile = Annotated[float, Field(gt=0, le=100, description="CPU request = this percentile of usage.")]
MemoryBuffer = Annotated[float, Field(gt=0, le=1000, description="Memory = peak working set + this %.")]
PointsRequired = Annotated[int, Field(ge=1, le=100_000, description="Data points needed per container.")]
Strategy = Annotated[
    Literal["simple", "simple_limit"],
    Field(
        description="krr's strategy: simple (CPU request = cpu_percentile of usage, no CPU limit) or "
        "simple_limit (CPU request and limit = the 66th and 96th percentiles of all samples)."
    ),
]


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
    monthly_savings: Savings | None = Field(
        default=None, description="What it saves over the running pods per month (see `prices`)."
    )


class ScanOutput(BaseModel):
    scan_id: str = Field(
        description="Give this to propose_change: the bridge keeps this scan for a while and takes each "
        "container's usage and the proposal's evidence from it."
    )
    source: str
    source_reason: str
    strategy: str
    settings: dict[str, Any]
    summary: ScanSummary = Field(description="krr-style summary of ALL matching containers (every page).")
    by_namespace: dict[str, ScanSummary] = Field(
        default_factory=dict, description="The same summary per namespace (every page)."
    )
    total: int = Field(default=0, description="Matching containers in all pages.")
    items: list[ScanItem] = Field(description="This page.")
    truncated: bool = Field(description="More pages follow: call again with `cursor` = next_cursor.")
    next_cursor: str | None = None
    errors: list[ScanError]
    warnings: list[ScanError] = Field(
        default_factory=list, description="What the recommender only warns about: the scan went on."
    )
    scanned_at: datetime
    prices: PriceTable | None = Field(
        default=None, description="The prices of monthly_savings and where they came from (an assumption)."
    )
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
        monthly_savings=scan.monthly_savings,
    )


async def run_scan(bridge: Bridge, request: ScanRequest, ctx: Context | None) -> ScanResult:
    """Run the recommenders, reporting progress to the client; their failures become tool errors."""
    progress = ctx.report_progress if ctx is not None else None
    try:
        result = await get_recommendations(request, progress=progress, kube_api=bridge.cluster.api_client)
    except (KrrCliError, KrrOutputError, PrometheusError, ReportError, SelectorError) as exc:
        raise ToolError(f"the scan failed: {exc}") from None
    prices, warning = await bridge_prices(bridge)
    return result.priced(prices, warning)


def render_scan(out: ScanOutput) -> str:
    s = out.summary
    lines = [
        f"Scan {out.scan_id} (give it to propose_change): {s.containers} container(s) with {out.source} "
        f"({out.source_reason}); "
        f"{s.proposable} proposable, {s.missing_data} without enough data, {s.errors} error(s).",
        f"By severity: {', '.join(f'{k} {v}' for k, v in sorted(s.by_severity.items())) or 'none'}. "
        f"Request savings: {s.cpu_request_savings_cores:.3f} cores, "
        f"{s.memory_request_savings_bytes / 2**20:.0f}Mi per pod; "
        f"{s.cpu_request_savings_cores_running_pods:.3f} cores, "
        f"{s.memory_request_savings_bytes_running_pods / 2**20:.0f}Mi over the running pods"
        + (
            f", {s.monthly_savings:.2f} {s.currency} per month at {out.prices.source}."
            if s.monthly_savings is not None and out.prices is not None
            else "."
        ),
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
    if out.next_cursor:
        lines.append(f"Showing {len(out.items)} of {out.total}; the next page: cursor={out.next_cursor}")
    lines.extend(f"error: {e.message}" for e in out.errors[:10])
    lines.extend(f"warning: {w.message}" for w in out.warnings[:10])
    return "\n".join(lines)


def _scan_page(
    filtered: ScanResult, scan_id: str, offset: int, limit: int, selection: str
) -> tuple[ScanOutput, str]:
    """One page of a kept scan, with the whole scan's summary, total and per-namespace sums."""
    end = offset + limit
    more = end < len(filtered.items)
    out = ScanOutput(
        scan_id=scan_id,
        source=filtered.source,
        source_reason=filtered.source_reason,
        strategy=filtered.strategy,
        settings=filtered.settings,
        summary=filtered.summary,
        by_namespace=namespace_summaries(filtered.items, filtered.errors),
        total=len(filtered.items),
        items=[scan_item(i) for i in filtered.items[offset:end]],
        truncated=more,
        next_cursor=encode_cursor({"f": selection, "scan": scan_id, "o": end}) if more else None,
        errors=filtered.errors,
        warnings=filtered.warnings,
        scanned_at=filtered.scanned_at,
        prices=filtered.prices,
        report=filtered.report,
    )
    return out, render_scan(out)


def register(server: MCPServer, bridge: Bridge) -> None:
    settings = bridge.settings

    def request(**fields: Any) -> ScanRequest:
        return ScanRequest(
            prometheus_url=settings.prometheus_url,
            report_path=settings.scan_report,
            kubeconfig=settings.kubeconfig,  # krr scans the bridge's cluster, nothing else
            kube_context=settings.context,
            kube_as=bridge.cluster.api_client.default_headers.get(IMPERSONATE_USER),  # as the bridge acts
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
        strategy: Strategy = "simple",
        min_severity: Annotated[
            Severity | None, Field(description="Only containers at least this severe.")
        ] = None,
        include_missing_data: Annotated[
            bool, Field(description="Include containers without a usable recommendation.")
        ] = True,
        limit: Annotated[
            int, Field(ge=1, le=MAX_PAGE, description="Page size: at most this many items per answer.")
        ] = DEFAULT_PAGE,
        cursor: Annotated[
            str | None,
            Field(
                max_length=200,
                description="next_cursor of a previous answer: the next page of THAT scan (no new "
                "scan); give the same other arguments.",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, ScanOutput]:
        """Scan workloads with krr's simple (or simple_limit) strategy (the krr CLI, or the native engine):
        per container, current vs recommended CPU/memory, severity, usage evidence, and the krr-style
        summary. Answers in pages (`limit`, default 50; `next_cursor` for the next one); the summary,
        total and per-namespace sums always cover every page. Reports progress during long scans.
        Changes nothing."""
        selection = fingerprint(
            dict(namespaces=namespaces, label_selector=label_selector, kinds=kinds, names=names,
                 history_hours=history_hours, cpu_percentile=cpu_percentile, source=source, strategy=strategy,
                 memory_buffer_pct=memory_buffer_pct, points_required=points_required,
                 min_severity=min_severity, include_missing_data=include_missing_data)
        )  # fmt: skip
        with tool_errors("scan_recommendations"):
            if cursor is not None:
                try:
                    data = decode_cursor(cursor, selection)
                    offset, scan_id = offset_of(data), str(data.get("scan"))
                    filtered = bridge.scan_pages.get(scan_id)
                except CursorError as exc:
                    raise ToolError(f"scan_recommendations: {exc}") from None
                return tool_result(*_scan_page(filtered, scan_id, offset, limit, selection))
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
                strategy=strategy,
                keep_explanations=False,  # never shown here; explain_recommendation scans for its own
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
        scan_id = bridge.scan_pages.keep(filtered)
        return tool_result(*_scan_page(filtered, scan_id, 0, limit, selection))

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
        strategy: Strategy = "simple",
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
                strategy=strategy,
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
