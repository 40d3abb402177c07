"""Read-only tools: list_recommendations, get_recommendation, audit_trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from krr_mcp.api.resource_recommendation import (
    Phase,
)
from krr_mcp.api.times import timestamp
from krr_mcp.core.savings import CountedSaving, Standing, counted_saving, savings_sums
from krr_mcp.kube.client import Forbidden, Gone, namespace_path

from ..bridge import Bridge
from ..cluster import ClusterError
from ..inputs import Namespace, ObjectName, WorkloadKindName
from ..manifests import LABEL_TARGET_KIND, LABEL_TARGET_NAME, label_value
from ..paging import (
    DEFAULT_PAGE,
    LISTING_TTL_SECONDS,
    MAX_PAGE,
    CursorError,
    decode_cursor,
    encode_cursor,
    fingerprint,
)
from ..untrusted import UNTRUSTED_DESCRIPTION, mark_recommendation, quote
from ..views import (
    AuditEntry,
    RecommendationSummary,
    audit_entries,
    event_entries,
    parse_recommendation,
    render_summaries,
    sort_entries,
    summarize,
)
from .common import READ_ONLY, ReviewCommands, in_thread, review_commands, tool_errors, tool_result


class NamespaceCount(BaseModel):
    total: int
    by_phase: dict[str, int]
    monthly_savings: dict[str, float] = Field(
        default_factory=dict,
        description="What the open proposals (Proposed, Approved, Applying; not refused) would save per "
        "month, summed per currency (the operator's status.savings). Ended RRs count in no sum.",
    )
    applied_monthly_savings: dict[str, float] = Field(
        default_factory=dict, description="What the Applied changes save per month, summed per currency."
    )


class RecommendationList(BaseModel):
    items: list[RecommendationSummary] = Field(description="This page, newest first.")
    total: int = Field(description="How many matched, in all pages.")
    truncated: bool = Field(description="More pages follow: call again with `cursor` = next_cursor.")
    next_cursor: str | None = None
    by_namespace: dict[str, NamespaceCount] = Field(
        default_factory=dict,
        description="How many matched per namespace and phase, and what they save (all pages).",
    )
    monthly_savings: dict[str, float] = Field(
        default_factory=dict,
        description="What the open proposals that matched would save per month, per currency (all pages; "
        "Rejected, Expired, Superseded, Stale, Failed and rolled back RRs count in no sum).",
    )
    applied_monthly_savings: dict[str, float] = Field(
        default_factory=dict,
        description="What the Applied changes that matched save per month, per currency (all pages).",
    )
    as_of: datetime = Field(
        description="When these RRs were read from the API server (UTC). Next pages asked for within "
        f"{LISTING_TTL_SECONDS:g} s of it are served from that same read (as a Kubernetes paged list is one "
        "snapshot); later ones from a new read. Call without cursor for a fresh first page."
    )
    resource_version: str = Field(default="", description="The API server's resourceVersion of that read.")


class RecommendationDetail(BaseModel):
    summary: RecommendationSummary
    spec: dict[str, Any] = Field(
        description='The RR\'s spec; its free text (`reason`) as {"untrusted": ...}: ' + UNTRUSTED_DESCRIPTION
    )
    status: dict[str, Any] = Field(
        description='The RR\'s status; its messages as {"untrusted": ...}: ' + UNTRUSTED_DESCRIPTION
    )
    review: ReviewCommands


class AuditTrail(BaseModel):
    subject: str
    entries: list[AuditEntry]
    note: str = Field(default="", description="Why some records are missing, if any are.")


def read_events(bridge: Bridge, namespace: str) -> tuple[list[dict[str, Any]], str]:
    """The namespace's Events, or none with a note when the bridge's identity may not list them."""
    try:
        return bridge.cluster.list_in_namespace(
            f"Events in {namespace}", f"{namespace_path(namespace)}/events"
        ), ""
    except ClusterError as exc:
        if isinstance(exc.error, Forbidden):
            return [], "Kubernetes Events are not included: the bridge's identity may not list them."
        raise


def _target_selector(kind: str | None, name: str | None) -> str | None:
    parts = []
    if kind:
        parts.append(f"{LABEL_TARGET_KIND}={kind}")
    if name:
        parts.append(f"{LABEL_TARGET_NAME}={label_value(name)}")
    return ",".join(parts) or None


def _order(s: RecommendationSummary) -> tuple[bool, float, str, str]:
    """Newest first (reverse order of this key), then by namespace and name: a total order."""
    return (s.created_at is not None, s.created_at.timestamp() if s.created_at else 0.0, s.namespace, s.name)


@dataclass(frozen=True)
class Listing:
    """One read of the RRs a call's filters select, summarized: what each page of it is served from."""

    selection: str  # the fingerprint of the filters it was read for
    summaries: list[RecommendationSummary]  # newest first
    by_namespace: dict[str, NamespaceCount]
    monthly_savings: dict[str, float]
    applied_monthly_savings: dict[str, float]
    as_of: datetime
    resource_version: str


def read_listing(
    bridge: Bridge,
    selection: str,
    namespace: str | None,
    phase: str | None,
    target_kind: str | None,
    target_name: str | None,
) -> Listing:
    """Read and summarize the matching RRs chunk by chunk (only summaries are held, never every RR);
    read again from the start when the API server expired the read's `continue` (410) meanwhile."""
    for attempt in range(3):
        rows: list[tuple[RecommendationSummary, CountedSaving | None]] = []
        as_of, version = datetime.now(UTC).replace(microsecond=0), ""
        try:
            for items, read_version in bridge.cluster.recommendation_chunks(
                namespace, _target_selector(target_kind, target_name)
            ):
                version = read_version or version
                for obj in items:
                    s = summarize(obj)
                    # labels hold at most 63 characters of the name; match the full name here
                    if (not target_name or s.target_name == target_name) and (not phase or s.phase == phase):
                        rows.append((s, counted_saving(obj)))
        except ClusterError as exc:
            if isinstance(exc.error, Gone) and attempt < 2:
                continue
            raise
        break
    by_namespace: dict[str, NamespaceCount] = {}
    for s, _ in rows:
        count = by_namespace.setdefault(s.namespace, NamespaceCount(total=0, by_phase={}))
        count.total += 1
        count.by_phase[s.phase] = count.by_phase.get(s.phase, 0) + 1
    sums = savings_sums((s.namespace, saving) for s, saving in rows)
    for ns, count in by_namespace.items():
        count.monthly_savings = sums[ns].per_month(Standing.OPEN)
        count.applied_monthly_savings = sums[ns].per_month(Standing.APPLIED)
    return Listing(
        selection=selection,
        summaries=sorted((s for s, _ in rows), key=_order, reverse=True),
        by_namespace=dict(sorted(by_namespace.items())),
        monthly_savings=sums[""].per_month(Standing.OPEN),
        applied_monthly_savings=sums[""].per_month(Standing.APPLIED),
        as_of=as_of,
        resource_version=version,
    )


def list_recommendations_view(
    bridge: Bridge,
    namespace: str | None,
    phase: str | None,
    target_kind: str | None,
    target_name: str | None,
    limit: int,
    cursor: str | None = None,
) -> RecommendationList:
    """One page of the RRs matching the filters, newest first, with the totals of all pages (the code
    both the tool and the benchmark run). A first page reads the RRs; a next page is served from that
    read while it is kept (LISTING_TTL_SECONDS), else from a new one (its `as_of` says when). Raises
    CursorError for a cursor of other filters."""
    selection = fingerprint(dict(namespace=namespace, phase=phase, kind=target_kind, name=target_name))
    data = decode_cursor(cursor, selection) if cursor is not None else {}
    after = data.get("after")
    if cursor is not None and not (isinstance(after, list) and len(after) == 4):
        raise CursorError("this cursor is not one this server gave out")
    listing_id = data.get("l")
    try:
        listing: Listing = bridge.listings.get(listing_id)
        if listing.selection != selection:
            raise CursorError("a read for other filters")
    except CursorError:  # a first page, or the read is no longer kept: read now
        listing = read_listing(bridge, selection, namespace, phase, target_kind, target_name)
        listing_id = bridge.listings.keep(listing)
    summaries = listing.summaries
    rest = summaries if after is None else [s for s in summaries if _order(s) < tuple(after)]
    page = rest[:limit]
    more = len(rest) > limit
    next_cursor = (
        encode_cursor({"f": selection, "l": listing_id, "after": list(_order(page[-1]))}) if more else None
    )
    return RecommendationList(
        items=page,
        total=len(summaries),
        truncated=more,
        next_cursor=next_cursor,
        by_namespace=listing.by_namespace,
        monthly_savings=listing.monthly_savings,
        applied_monthly_savings=listing.applied_monthly_savings,
        as_of=listing.as_of,
        resource_version=listing.resource_version,
    )


def savings_sentence(open_sums: dict[str, float], applied_sums: dict[str, float]) -> str:
    """The listing's savings sums in words ("" when nothing counts)."""

    def money(sums: dict[str, float]) -> str:
        return ", ".join(f"{amount:.2f} {currency}" for currency, amount in sums.items())

    text = ""
    if open_sums:
        text += f"\nTogether (all pages) the open proposals would save {money(open_sums)} per month."
    if applied_sums:
        text += f"\nThe applied changes (all pages) save {money(applied_sums)} per month."
    return text


def register(server: MCPServer, bridge: Bridge) -> None:
    """Add the read-only recommendation tools to `server`."""

    @server.tool(
        title="List ResourceRecommendations",
        annotations=READ_ONLY,
    )
    async def list_recommendations(
        namespace: Namespace | None = None,
        phase: Phase | None = None,
        target_kind: WorkloadKindName | None = None,
        target_name: ObjectName | None = None,
        limit: Annotated[
            int, Field(ge=1, le=MAX_PAGE, description="Page size: at most this many RRs per answer.")
        ] = DEFAULT_PAGE,
        cursor: Annotated[
            str | None,
            Field(max_length=300, description="next_cursor of a previous answer (same other arguments)."),
        ] = None,
    ) -> Annotated[CallToolResult, RecommendationList]:
        """List ResourceRecommendations (all namespaces when `namespace` is omitted): target, phase,
        who approved, risk, and the CPU/memory change. Newest first, in pages (`limit`, default 50;
        `next_cursor` for the next one); the total and per-namespace counts cover every page."""
        with tool_errors("listing recommendations"):
            try:
                result = await in_thread(
                    list_recommendations_view,
                    bridge,
                    namespace,
                    phase,
                    target_kind,
                    target_name,
                    limit,
                    cursor,
                )
            except CursorError as exc:
                raise ToolError(f"listing recommendations: {exc}") from None
        text = render_summaries(result.items, result.total)
        text += savings_sentence(result.monthly_savings, result.applied_monthly_savings)
        text += f"\nAs read at {timestamp(result.as_of)}"
        text += f" (resourceVersion {result.resource_version})." if result.resource_version else "."
        if result.next_cursor:
            text += f"\nThe next page: cursor={result.next_cursor}"
        return tool_result(result, text)

    @server.tool(title="Get one ResourceRecommendation", annotations=READ_ONLY)
    async def get_recommendation(
        namespace: Namespace, name: ObjectName
    ) -> Annotated[CallToolResult, RecommendationDetail]:
        """One ResourceRecommendation in full: proposal, phase, safety report, history (each change
        with the resources before and after), who approved, and the commands to review it."""
        with tool_errors(f"reading recommendation {namespace}/{name}"):
            obj = await in_thread(bridge.cluster.get_recommendation, namespace, name)
            rr = parse_recommendation(obj)
        marked = mark_recommendation(rr.model_dump(mode="json"))
        detail = RecommendationDetail(
            summary=summarize(obj),
            spec=marked["spec"],
            status=marked.get("status") or {},
            review=review_commands(namespace, name),
        )
        s = detail.summary
        text = (
            f"{namespace}/{name}: {s.target_kind} {s.target_name}, phase {s.phase}, "
            f"approved={s.approved}{' by ' + s.approved_by if s.approved_by else ''}, "
            f"{len(rr.status.history)} history entr{'y' if len(rr.status.history) == 1 else 'ies'}.\n"
            f"Reason: {quote(rr.spec.reason)}\n"
            + (f"Status message: {quote(rr.status.message)}\n" if rr.status.message else "")
            + f"Review: {detail.review.describe}"
        )
        return tool_result(detail, text)

    @server.tool(title="Audit trail of a recommendation or workload", annotations=READ_ONLY)
    async def audit_trail(
        namespace: Namespace,
        recommendation: ObjectName | None = None,
        workload_kind: WorkloadKindName | None = None,
        workload_name: ObjectName | None = None,
    ) -> Annotated[CallToolResult, AuditTrail]:
        """The recorded history of one ResourceRecommendation (give `recommendation`) or of every
        recommendation for one workload (give `workload_kind` and `workload_name`): proposals, human
        approvals, applies and rollbacks with the resources before and after, and the Kubernetes Events
        the operator recorded about them, oldest first."""
        if bool(recommendation) == bool(workload_name):
            raise ToolError("give either recommendation, or workload_kind and workload_name (not both)")
        if workload_name and not workload_kind:
            raise ToolError("workload_kind is required with workload_name")
        with tool_errors("reading the audit trail"):
            if recommendation:
                subject = f"ResourceRecommendation {namespace}/{recommendation}"
                objects = [await in_thread(bridge.cluster.get_recommendation, namespace, recommendation)]
            else:
                subject = f"{workload_kind} {namespace}/{workload_name}"
                listed = await in_thread(
                    bridge.cluster.list_recommendations,
                    namespace,
                    _target_selector(workload_kind, workload_name),
                )
                objects = [o for o in listed if summarize(o).target_name == workload_name]
            events, events_note = await in_thread(read_events, bridge, namespace)
            names = {str(o["metadata"]["name"]) for o in objects}
            entries = sort_entries(
                [e for o in objects for e in audit_entries(o)] + event_entries(events, names)
            )
        trail = AuditTrail(subject=subject, entries=entries, note=events_note)
        lines = [f"Audit trail of {subject}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}."]
        if events_note:
            lines.append(events_note)
        for e in entries:
            when = e.at.isoformat() if e.at else "(time not recorded)"
            lines.append(
                f"- {when} {e.recommendation}: {e.event}"
                f"{' ' + e.outcome if e.outcome else ''}{' by ' + e.actor if e.actor else ''}"
                f"{': ' + quote(e.message.untrusted) if e.message and e.message.untrusted else ''}"
            )
        return tool_result(trail, "\n".join(lines))
