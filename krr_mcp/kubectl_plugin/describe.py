"""Pure: everything a reviewer needs about one RR, as titled sections (rendered by `show`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from krr_mcp.api.quantities import QuantityError, parse_resource_quantity

from .views import age, change_percent, phase_of, target_of


@dataclass
class Section:
    title: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    text: str = ""


def _resources(resources: dict[str, Any] | None, section: str, name: str) -> str | None:
    return ((resources or {}).get(section) or {}).get(name)


# How a reviewer reads `valuesFrom`: whether the proposed numbers are a scan's or someone's assertion.
VALUES_FROM = {
    "scan": "the bridge's scan",
    "scan-within-max-step": "the bridge's scan, limited to the max step",
    "assistant": "ASSISTANT'S ASSERTION (not the scan's)",
    "rollback": "the state before an apply",
}
VALUES_NOT_RECORDED = "not recorded (not from a scan: check them)"


def values_from(container: dict[str, Any]) -> str:
    """Where a container's proposed numbers came from, as the reviewer reads it."""
    origin = container.get("valuesFrom")
    return VALUES_FROM.get(str(origin), VALUES_NOT_RECORDED) if origin is not None else VALUES_NOT_RECORDED


def unscanned_values_notes(rr: dict[str, Any]) -> list[str]:
    """One line per container whose proposed numbers are not a scan's (`kubectl krr diff` prints these)."""
    return [
        f"note: the proposed values of container {c.get('name')} are {values_from(c)}"
        for c in (rr.get("spec") or {}).get("containers") or []
        if c.get("valuesFrom") not in ("scan", "scan-within-max-step", "rollback")
    ]


def _container_rows(spec: dict[str, Any]) -> list[list[str]]:
    rows = []
    for container in spec.get("containers") or []:
        origin = values_from(container)
        for section in ("requests", "limits"):
            for name in ("cpu", "memory"):
                now_ = _resources(container.get("current"), section, name)
                new = _resources(container.get("proposed"), section, name)
                rows.append(
                    [
                        str(container.get("name")),
                        f"{section}.{name}",
                        now_ or "-",
                        new or "-",
                        change_percent(now_, new, name),
                        origin,
                    ]
                )
    return rows


def _memory(value: Any) -> str:
    """A memory amount for reading: `1.07Gi`, `330Mi` (the RR stores exact bytes)."""
    if value is None:
        return "-"
    try:
        amount = float(parse_resource_quantity(str(value), "memory"))
    except QuantityError:
        return str(value)
    return f"{amount / 2**30:.2f}Gi" if amount >= 2**30 else f"{amount / 2**20:.0f}Mi"


def _usage_rows(spec: dict[str, Any]) -> list[list[str]]:
    rows = []
    for container in spec.get("containers") or []:
        usage = container.get("usage") or {}
        if usage:
            rows.append(
                [
                    str(container.get("name")),
                    str(usage.get("cpuPercentileCores") or "-"),
                    str(usage.get("cpuPeakCores") or "-"),
                    _memory(usage.get("memoryPeak")),
                    str(usage.get("dataPoints") if usage.get("dataPoints") is not None else "-"),
                    "yes" if usage.get("oomKilled") else "no",
                    str(container.get("severity") or "-"),
                ]
            )
    return rows


REASON_TITLE = "Reason (the proposer's words, not checked)"


def _evidence_source(evidence: dict[str, Any]) -> str:
    source = str(evidence.get("source", "?"))
    if source == "manual":
        return "manual (no scan behind it: the numbers were not checked against observed usage)"
    return source


def describe(rr: dict[str, Any], now: datetime) -> list[Section]:
    meta, spec, status = rr.get("metadata") or {}, rr.get("spec") or {}, rr.get("status") or {}
    annotations = meta.get("annotations") or {}
    sections = [
        Section(
            "Recommendation",
            pairs=[
                ("Name", f"{meta.get('namespace')}/{meta.get('name')}"),
                ("Target", target_of(rr)),
                ("Phase", phase_of(rr)),
                ("Message", str(status.get("message") or "")),
                (
                    "Created",
                    f"{meta.get('creationTimestamp')} ({age(meta.get('creationTimestamp'), now)} ago), by "
                    f"{annotations.get('krr-mcp.io/created-by', 'unknown')}",
                ),
                ("Resource version", str(meta.get("resourceVersion"))),
                (
                    "Approved",
                    f"yes, by {spec.get('approvedBy')} at {status.get('approvedAt') or '?'}"
                    if spec.get("approved")
                    else "no",
                ),
                ("Rejected", "yes" if spec.get("rejected") else "no"),
                (
                    "Rollback requested",
                    f"yes, by {spec.get('rollbackRequestedBy') or 'unknown'}"
                    if spec.get("rollbackRequested")
                    else "no",
                ),
                ("Auto rollback", "yes" if spec.get("autoRollback", True) else "no"),
                ("Expires", str(spec.get("expiresAt") or "never")),
            ],
        )
    ]
    # The proposer's own words (an assistant's, through the bridge): shown as such, nothing checks them.
    sections.append(Section(REASON_TITLE, text=str(spec.get("reason") or "")))
    sections.append(
        Section(
            "Proposed change",
            columns=["container", "resource", "current", "proposed", "change", "values from"],
            rows=_container_rows(spec),
        )
    )
    evidence = spec.get("evidence") or {}
    sections.append(
        Section(
            "Evidence",
            pairs=[
                ("Source", _evidence_source(evidence)),
                ("Strategy", str(evidence.get("strategy", "simple"))),
                ("History", f"{evidence.get('historyHours', '?')}h"),
                ("CPU percentile", str(evidence.get("cpuPercentile", "?"))),
                ("Memory buffer", f"{evidence.get('memoryBufferPercentage', '?')}%"),
                ("Scanned at", str(evidence.get("scannedAt") or "?")),
            ],
        )
    )
    sections.append(
        Section(
            "Observed usage",
            columns=["container", "cpu pXX", "cpu peak", "memory peak", "points", "oomkilled", "severity"],
            rows=_usage_rows(spec),
        )
    )
    safety = status.get("safety")
    if safety:
        sections.append(
            Section(
                "Safety",
                pairs=[
                    ("Allowed", "yes" if safety.get("allowed") else "NO"),
                    ("Risk", str(safety.get("risk"))),
                    ("Checked at", str(safety.get("checkedAt"))),
                ],
                columns=["severity", "rule", "container", "message"],
                rows=[
                    [
                        str(f.get("severity")),
                        str(f.get("rule")),
                        str(f.get("container") or "-"),
                        str(f.get("message")),
                    ]
                    for f in safety.get("findings") or []
                ],
            )
        )
    else:
        sections.append(Section("Safety", text="not checked yet (the operator writes it)"))
    sections.append(
        Section(
            "History",
            columns=["at", "action", "outcome", "actor", "container", "before", "after", "message"],
            rows=_history_rows(status),
        )
    )
    sections.append(
        Section(
            "Conditions",
            columns=["type", "status", "reason", "message", "since"],
            rows=[
                [
                    str(c.get("type")),
                    str(c.get("status")),
                    str(c.get("reason")),
                    str(c.get("message") or ""),
                    str(c.get("lastTransitionTime")),
                ]
                for c in status.get("conditions") or []
            ],
        )
    )
    return sections


def _compact(resources: dict[str, Any]) -> str:
    parts = []
    for section in ("requests", "limits"):
        values = resources.get(section) or {}
        if values:
            parts.append(section + " " + ",".join(f"{k}={v}" for k, v in sorted(values.items())))
        else:
            parts.append(f"{section} -")
    return "; ".join(parts)


def _history_rows(status: dict[str, Any]) -> list[list[str]]:
    rows = []
    for entry in status.get("history") or []:
        for change in entry.get("containers") or []:
            rows.append(
                [
                    str(entry.get("at")),
                    str(entry.get("action")),
                    str(entry.get("outcome")),
                    str(entry.get("actor")),
                    str(change.get("name")),
                    _compact(change.get("before") or {}),
                    _compact(change.get("after") or {}),
                    str(entry.get("message") or ""),
                ]
            )
    return rows
