"""Evidence for a proposal from the bridge's own scan, never from the assistant.

`scan_recommendations` keeps each result server-side under a `scan_id` (`paging.ScanPages`) and returns
the id. `propose_change` names a scan by that id; the bridge takes each container's usage (peaks, OOM
kills, data points) and the evidence (recommender, strategy, history window, percentile, buffer, when)
from the kept result, so the safety rules check the proposed numbers against what the bridge observed.
"""

from __future__ import annotations

from krr_mcp.api.resource_recommendation import SCAN_ID_PATTERN, ContainerUsage, Evidence
from krr_mcp.recommenders import ContainerScan, ScanResult

__all__ = ["SCAN_ID_PATTERN", "evidence_from_scan", "usage_by_container"]
# Evidence fields and the names the recommenders' settings use for them.
EVIDENCE_SETTINGS = {
    "historyHours": ("history_duration", "history_hours"),
    "cpuPercentile": ("cpu_percentile",),
    "memoryBufferPercentage": ("memory_buffer_percentage", "memory_buffer_pct"),
}


def evidence_from_scan(scan: ScanResult, scan_id: str | None = None) -> Evidence:
    """The RR's evidence for numbers checked against `scan`, kept as `scan_id` (a saved report: the
    recommender that made it)."""
    source = scan.report.recorded_source if scan.source == "report" and scan.report else scan.source
    numbers: dict[str, float | int] = {}
    for field, names in EVIDENCE_SETTINGS.items():
        for name in names:
            value = scan.settings.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers[field] = int(value) if field == "historyHours" else value
                break
    return Evidence.model_validate(
        {
            "source": source if source in ("krr", "native") else "manual",
            "strategy": scan.strategy,
            "scannedAt": scan.scanned_at,
            "scanId": scan_id,
            **numbers,
        }
    )


def usage_by_container(scan: ScanResult, namespace: str, kind: str, name: str) -> dict[str, ContainerUsage]:
    """The usage the scan observed for each container of one workload (empty: the scan did not see it)."""
    found: dict[str, ContainerScan] = {
        i.container: i for i in scan.items if (i.namespace, i.kind, i.name) == (namespace, kind, name)
    }
    return {container: item.usage for container, item in found.items()}
