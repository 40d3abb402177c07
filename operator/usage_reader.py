"""Read a workload's memory peaks from Prometheus at apply time (`--prometheus-url`).

The reading is the native recommender's own (krr_mcp.recommenders: its Prometheus client, its
pod discovery and its queries) over the RR's history window, so the operator sees the number a scan
would have seen now; `usage_recheck.usage_recheck` decides what it means.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.api.resource_recommendation import Phase, ResourceRecommendationSpec
from krr_mcp.core.usage_recheck import (
    DEFAULT_TOLERANCE_PERCENT,
    UsageReading,
    UsageVerdict,
    history_hours,
    usage_recheck,
)
from krr_mcp.recommenders import PrometheusError, ScanRequest
from krr_mcp.recommenders.native import scan_with_prometheus


@dataclass(frozen=True)
class UsageSource:
    """Where and how the operator re-reads usage before applying."""

    prometheus_url: str
    timeout_seconds: float = 60.0
    tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT


def read_usage(
    source: UsageSource, namespace: str, spec: ResourceRecommendationSpec, now: datetime
) -> UsageReading:
    """The memory peak Prometheus shows for each of the RR's containers over its history window, up
    to `now` (blocking: runs the native engine's queries on an event loop of its own)."""
    request = ScanRequest(
        namespaces=[namespace],
        kinds=[spec.target.kind],
        names=[spec.target.name],
        history_hours=history_hours(spec),
        source="native",
        prometheus_url=source.prometheus_url,
        timeout_seconds=source.timeout_seconds,
        end_time=now,
    )
    try:
        scan = asyncio.run(scan_with_prometheus(request))
    except PrometheusError as exc:
        return UsageReading(error=str(exc))
    found = {
        item.container: item
        for item in scan.items
        if (item.namespace, item.kind, item.name) == (namespace, spec.target.kind, spec.target.name)
    }
    peaks: dict[str, Decimal | None] = {}
    for container in spec.containers:
        item = found.get(container.name)
        peak = item.usage.memoryPeak if item is not None else None
        peaks[container.name] = parse_resource_quantity(peak, "memory") if peak is not None else None
    return UsageReading(peaks=peaks)


def usage_verdict(source: UsageSource, rr: dict[str, Any], now: datetime) -> UsageVerdict | None:
    """What the usage Prometheus shows now says about applying an approved RR (read only for an
    approved, unrejected RR not yet decided for good; None: nothing against it)."""
    spec_raw = rr.get("spec") or {}
    phase = (rr.get("status") or {}).get("phase")
    if not spec_raw.get("approved") or spec_raw.get("rejected"):
        return None
    if phase not in (None, Phase.PROPOSED, Phase.APPROVED):
        return None
    try:
        spec = ResourceRecommendationSpec.model_validate(spec_raw)
    except ValidationError:
        return None  # decide refuses the spec itself
    reading = read_usage(source, rr["metadata"]["namespace"], spec, now)
    return usage_recheck(spec, reading, source.tolerance_percent)
