"""Read-only views of ResourceRecommendations for the assistant: summaries, details, audit entries.

Pure functions over the API's dicts, so list/get/audit tools stay thin and the benchmark can time
the same code the tools run.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from krr_mcp.api.resource_recommendation import (
    ContainerChange,
    ResourceRecommendation,
    ResourceRecommendationSpec,
    ResourceRecommendationStatus,
)
from krr_mcp.core.savings import monthly_savings

from .manifests import ANNOTATION_CREATED_BY, ANNOTATION_ROLLBACK_OF
from .untrusted import Untrusted, untrusted


class RecommendationSummary(BaseModel):
    """One RR at a glance: what it targets, where it stands, who approved it ("" = not set; plain
    strings keep the schema cheap for clients that revalidate long lists)."""

    name: str
    namespace: str
    target_kind: str
    target_name: str
    containers: list[str]
    phase: str
    approved: bool
    approved_by: str = ""
    rejected: bool = False
    rollback_requested: bool = False
    risk: str = ""
    cpu_change: str = ""
    memory_change: str = ""
    saves_per_month: str = Field(
        default="", description="What it saves per month (the operator's status.savings; '' not yet priced)."
    )
    source: str = ""
    created_by: str = ""
    rollback_of: str = ""
    created_at: datetime | None = None


class AuditEntry(BaseModel):
    """One recorded step in the life of a recommendation."""

    at: datetime | None
    recommendation: str
    event: Literal[
        "proposed",
        "approved",
        "rejected",
        "rollback-requested",
        "apply",
        "rollback",
        "auto-rollback",
        "k8s-event",
    ] = Field(
        description="k8s-event: a Kubernetes Event about the RR (its type and reason in `outcome` "
        "when they are shaped as such, otherwise in the untrusted `message`)."
    )
    outcome: str | None = None
    actor: str | None = None
    message: Untrusted | None = Field(
        default=None, description="The reason, history message or Event message, as read from the cluster."
    )
    containers: list[ContainerChange] = Field(default_factory=list)


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj.get("spec") or {})


def summarize(obj: dict[str, Any]) -> RecommendationSummary:
    """Summarize an RR dict as the API returns it (tolerates a missing status)."""
    meta = obj.get("metadata") or {}
    spec = _spec(obj)
    status = obj.get("status") or {}
    target = spec.get("target") or {}
    annotations = meta.get("annotations") or {}
    return RecommendationSummary(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        target_kind=target.get("kind", ""),
        target_name=target.get("name", ""),
        containers=[c.get("name", "") for c in spec.get("containers") or []],
        phase=status.get("phase") or "Proposed",
        approved=bool(spec.get("approved", False)),
        approved_by=spec.get("approvedBy") or "",
        rejected=bool(spec.get("rejected", False)),
        rollback_requested=bool(spec.get("rollbackRequested", False)),
        risk=status.get("risk") or "",
        cpu_change=status.get("cpuChange") or "",
        memory_change=status.get("memoryChange") or "",
        saves_per_month=f"{found[0]:.2f} {found[1]}" if (found := monthly_savings(obj)) else "",
        source=(spec.get("evidence") or {}).get("source") or "",
        created_by=annotations.get(ANNOTATION_CREATED_BY) or "",
        rollback_of=annotations.get(ANNOTATION_ROLLBACK_OF) or "",
        created_at=meta.get("creationTimestamp"),
    )


def parse_recommendation(obj: dict[str, Any]) -> ResourceRecommendation:
    """The RR model of an API object (raises pydantic.ValidationError if it is not a valid RR)."""
    return ResourceRecommendation.model_validate(obj)


def audit_entries(obj: dict[str, Any]) -> list[AuditEntry]:
    """Every step recorded for one RR: its proposal, the human's decisions, the operator's changes."""
    rr = parse_recommendation(obj)
    spec: ResourceRecommendationSpec = rr.spec
    status: ResourceRecommendationStatus = rr.status
    name = rr.metadata.name
    entries = [
        AuditEntry(
            at=rr.metadata.creationTimestamp,
            recommendation=name,
            event="proposed",
            actor=rr.metadata.annotations.get(ANNOTATION_CREATED_BY),
            message=untrusted(spec.reason),
        )
    ]
    if spec.approved:
        entries.append(
            AuditEntry(at=status.approvedAt, recommendation=name, event="approved", actor=spec.approvedBy)
        )
    if spec.rejected:
        entries.append(AuditEntry(at=None, recommendation=name, event="rejected"))
    if spec.rollbackRequested:
        entries.append(AuditEntry(at=None, recommendation=name, event="rollback-requested"))
    for item in status.history:
        entries.append(
            AuditEntry(
                at=item.at,
                recommendation=name,
                event=item.action,
                outcome=item.outcome,
                actor=item.actor,
                message=untrusted(item.message) if item.message else None,
                containers=item.containers,
            )
        )
    return entries


def event_entries(events: list[dict[str, Any]], names: set[str]) -> list[AuditEntry]:
    """The Kubernetes Events recorded about the RRs in `names` (as the operator reports its decisions)."""
    entries = []
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") != "ResourceRecommendation" or involved.get("name") not in names:
            continue
        when = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
        source = str(event.get("reportingComponent") or (event.get("source") or {}).get("component") or "")
        kind, reason = str(event.get("type") or "Normal"), str(event.get("reason") or "")
        # Whoever may create Events writes all of it: only words shaped like a reason, a type or a
        # component name stay outside the untrusted message; anything else is moved into it.
        odd = [
            f"{label}: {value}"
            for label, value, pattern in (
                ("type", kind, _EVENT_TYPE),
                ("reason", reason, _EVENT_REASON),
                ("reported by", source, _EVENT_SOURCE),
            )
            if value and not pattern.fullmatch(value)
        ]
        message = str(event.get("message") or "")
        entries.append(
            AuditEntry(
                at=when,
                recommendation=str(involved.get("name")),
                event="k8s-event",
                outcome=" ".join(
                    v for v, p in ((kind, _EVENT_TYPE), (reason, _EVENT_REASON)) if v and p.fullmatch(v)
                ),
                actor=source if source and _EVENT_SOURCE.fullmatch(source) else None,
                message=untrusted(" ".join([f"[{o}]" for o in odd] + [message]) if odd else message),
            )
        )
    return entries


_EVENT_TYPE = re.compile(r"Normal|Warning")
_EVENT_REASON = re.compile(r"[A-Z][A-Za-z0-9]{0,127}")
_EVENT_SOURCE = re.compile(r"[a-z0-9]([-a-z0-9./]{0,126}[a-z0-9])?")


def sort_entries(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Oldest first; entries without a time keep their place after the timed ones of their RR."""
    return sorted(entries, key=lambda e: (e.at is None, e.at.timestamp() if e.at else 0.0))


def render_summaries(items: list[RecommendationSummary], total: int, shown: int = 50) -> str:
    """A short text listing: the first `shown` items (all of them are in the structured result)."""
    if not items:
        return "No ResourceRecommendations found."
    limit = f" (returned {len(items)})" if total > len(items) else ""
    lines = [f"{total} ResourceRecommendation(s){limit}:"]
    for s in items[:shown]:
        who = f", approved by {s.approved_by}" if s.approved else ""
        saves = f", saves {s.saves_per_month} per month" if s.saves_per_month else ""
        lines.append(
            f"- {s.namespace}/{s.name}: {s.target_kind} {s.target_name} [{', '.join(s.containers)}] "
            f"phase {s.phase}{who}{saves}"
        )
    if len(items) > shown:
        lines.append(f"... {len(items) - shown} more in the structured result.")
    return "\n".join(lines)
