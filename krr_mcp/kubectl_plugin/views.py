"""Pure views of RRs for a reviewer: list rows, audit rows, change percentages, ages.

Every function takes RR dicts as the API server returns them and returns plain rows (dicts of
strings), so the same data renders as a table, plain text, JSON or YAML.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from krr_mcp.api.quantities import quantity_or_none
from krr_mcp.core.savings import counted_saving, monthly_savings, savings_sums

LIST_COLUMNS = [
    "namespace",
    "name",
    "target",
    "container",
    "cpu",
    "cpu_change",
    "memory",
    "memory_change",
    "saves",
    "risk",
    "phase",
    "age",
]
AUDIT_COLUMNS = ["time", "namespace", "name", "target", "event", "actor", "outcome", "detail"]


def change_percent(current: str | None, proposed: str | None, resource: str) -> str:
    """`-50%`, `+12%`, `0%`; `new` when nothing was set, `removed` when the proposal unsets it."""
    if current is None and proposed is None:
        return "-"
    if current is None:
        return "new"
    if proposed is None:
        return "removed"
    before, after = quantity_or_none(current, resource), quantity_or_none(proposed, resource)
    if before is None or after is None:
        return "?"
    if before == 0:
        return "0%" if after == 0 else "new"
    percent = (after - before) / before * 100
    rounded = int(percent.to_integral_value(rounding="ROUND_HALF_EVEN"))
    return f"{rounded:+d}%" if rounded else "0%"


def age(timestamp: str | None, now: datetime) -> str:
    """kubectl's short age (ShortHumanDuration): 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "<unknown>"
    then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = max(0, int((now.astimezone(UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _arrow(current: str | None, proposed: str | None) -> str:
    return f"{current or '-'} -> {proposed or '-'}"


def target_of(rr: dict[str, Any]) -> str:
    target = (rr.get("spec") or {}).get("target") or {}
    return f"{target.get('kind', '?')}/{target.get('name', '?')}"


def phase_of(rr: dict[str, Any]) -> str:
    return str((rr.get("status") or {}).get("phase") or "Proposed")


def by_namespace_and_savings(rrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Namespace by namespace; within one, the largest monthly saving first (unpriced last), then name."""

    def key(rr: dict[str, Any]) -> tuple[str, int, Decimal, str]:
        meta = rr.get("metadata") or {}
        found = monthly_savings(rr)
        return (str(meta.get("namespace", "")), found is None, -(found[0] if found else Decimal(0)),
                str(meta.get("name", "")))  # fmt: skip

    return sorted(rrs, key=key)


SUM_COLUMNS = ["namespace", "open", "saves", "applied", "applied_saves"]


def savings_rows(rrs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The savings sums (krr_mcp.core.savings.savings_sums: open proposals, and apart what Applied
    changes save; ended or refused RRs in neither) per namespace, one row per currency, then over all of
    them (`(all)`, when there are several); how many priced RRs each sum counts."""
    namespaced = ((str((rr.get("metadata") or {}).get("namespace", "")), counted_saving(rr)) for rr in rrs)
    sums = savings_sums(namespaced)
    total = sums.pop("")
    shown = [(ns, found) for ns, found in sums.items() if found.currencies()]
    if len(shown) > 1:
        shown.append(("(all)", total))

    def money(amounts: dict[str, Decimal], currency: str) -> str:
        return f"{amounts[currency]:.2f} {currency}" if currency in amounts else "-"

    return [
        {
            "namespace": ns,
            "open": str(found.open_count.get(currency, 0)),
            "saves": money(found.open, currency),
            "applied": str(found.applied_count.get(currency, 0)),
            "applied_saves": money(found.applied, currency),
        }
        for ns, found in shown
        for currency in found.currencies()
    ]


def list_rows(rrs: list[dict[str, Any]], now: datetime) -> list[dict[str, str]]:
    """One row per container of each RR: requests current -> proposed, change %, what the RR saves per
    month (on its first row: the saving is the whole RR's), risk, phase, age."""
    rows = []
    for rr in rrs:
        meta, spec, status = rr.get("metadata") or {}, rr.get("spec") or {}, rr.get("status") or {}
        risk = status.get("risk") or (status.get("safety") or {}).get("risk") or "-"
        found = monthly_savings(rr)
        saves = f"{found[0]:.2f} {found[1]}" if found else "-"
        for index, container in enumerate(spec.get("containers") or []):
            current = (container.get("current") or {}).get("requests") or {}
            proposed = (container.get("proposed") or {}).get("requests") or {}
            rows.append(
                {
                    "namespace": str(meta.get("namespace", "")),
                    "name": str(meta.get("name", "")),
                    "target": target_of(rr),
                    "container": str(container.get("name", "")),
                    "cpu": _arrow(current.get("cpu"), proposed.get("cpu")),
                    "cpu_change": change_percent(current.get("cpu"), proposed.get("cpu"), "cpu"),
                    "memory": _arrow(current.get("memory"), proposed.get("memory")),
                    "memory_change": change_percent(current.get("memory"), proposed.get("memory"), "memory"),
                    "saves": saves if index == 0 else "",
                    "risk": str(risk),
                    "phase": phase_of(rr),
                    "age": age(meta.get("creationTimestamp"), now),
                }
            )
    return rows


def filter_rrs(rrs: list[dict[str, Any]], phases: list[str], targets: list[str]) -> list[dict[str, Any]]:
    """Keep RRs whose phase is one of `phases` and whose target name (or Kind/name) is one of `targets`."""
    wanted_phases = {p.lower() for p in phases}
    kept = []
    for rr in rrs:
        if wanted_phases and phase_of(rr).lower() not in wanted_phases:
            continue
        if targets:
            target = (rr.get("spec") or {}).get("target") or {}
            names = {str(target.get("name")), target_of(rr), target_of(rr).lower()}
            if not names.intersection(targets):
                continue
        kept.append(rr)
    return sorted(kept, key=lambda r: (r["metadata"].get("namespace", ""), r["metadata"].get("name", "")))


def _changes(containers: list[dict[str, Any]]) -> str:
    parts = []
    for change in containers:
        before = (change.get("before") or {}).get("requests") or {}
        after = (change.get("after") or {}).get("requests") or {}
        parts.append(
            f"{change.get('name')}: cpu {_arrow(before.get('cpu'), after.get('cpu'))}, "
            f"memory {_arrow(before.get('memory'), after.get('memory'))}"
        )
    return "; ".join(parts)


def audit_rows(rrs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Who approved, rejected, applied and rolled back what and when, oldest first."""
    rows = []
    for rr in rrs:
        meta, spec, status = rr.get("metadata") or {}, rr.get("spec") or {}, rr.get("status") or {}
        base = {
            "namespace": str(meta.get("namespace", "")),
            "name": str(meta.get("name", "")),
            "target": target_of(rr),
        }
        if spec.get("approved"):
            rows.append(
                {
                    **base,
                    "time": str(status.get("approvedAt") or ""),
                    "event": "approve",
                    "actor": str(spec.get("approvedBy") or ""),
                    "outcome": "-",
                    "detail": "",
                }
            )
        if spec.get("rejected"):
            rejecter = (meta.get("annotations") or {}).get("krr-mcp.io/rejected-by", "")
            rows.append(
                {**base, "time": "", "event": "reject", "actor": rejecter, "outcome": "-", "detail": ""}
            )
        for entry in status.get("history") or []:
            rows.append(
                {
                    **base,
                    "time": str(entry.get("at") or ""),
                    "event": str(entry.get("action")),
                    "actor": str(entry.get("actor") or ""),
                    "outcome": str(entry.get("outcome") or ""),
                    "detail": _changes(entry.get("containers") or []),
                }
            )
    return sorted(rows, key=lambda r: (r["time"] or "~", r["namespace"], r["name"]))
