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

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec
from krr_mcp.core.usage_recheck import DEFAULT_TOLERANCE_PERCENT, UsageReading, history_hours
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
