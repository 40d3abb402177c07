"""Recommenders: krr CLI adapter and native Prometheus engine behind one interface.

- `get_recommendations(request, progress=...)` runs a scan (source auto/krr/native) -> ScanResult
- `parse_recommendations(krr_json_text)` -> ScanResult (raises KrrOutputError on unusable output)
- `filter_recommendations(result, filters)` -> ScanResult
- `load_report(path)` -> ScanResult from a saved report (krr -f json or ScanResult JSON); `save_report`
- `explain(container_scan)` -> Explanation (the numbers behind a recommendation)
"""

from .explain import Explanation, explain
from .filters import SelectorError, filter_recommendations
from .krr_cli import KrrCliError
from .krr_output import KrrOutputError, parse_recommendations
from .models import (
    ContainerScan,
    HpaInfo,
    PodRef,
    PriceTable,
    ResourceExplanation,
    SavedReport,
    ScanError,
    ScanFilters,
    ScanRequest,
    ScanResult,
    ScanStats,
    ScanSummary,
    namespace_summaries,
)
from .promapi import PartialDataError, PrometheusError
from .saved_report import ReportError, load_report, save_report
from .service import ProgressCallback, get_recommendations

__all__ = [
    "ContainerScan",
    "Explanation",
    "HpaInfo",
    "KrrCliError",
    "KrrOutputError",
    "PartialDataError",
    "PodRef",
    "PriceTable",
    "ProgressCallback",
    "PrometheusError",
    "ReportError",
    "ResourceExplanation",
    "SavedReport",
    "ScanError",
    "ScanFilters",
    "ScanRequest",
    "ScanResult",
    "ScanStats",
    "ScanSummary",
    "SelectorError",
    "explain",
    "filter_recommendations",
    "get_recommendations",
    "load_report",
    "namespace_summaries",
    "parse_recommendations",
    "save_report",
]
