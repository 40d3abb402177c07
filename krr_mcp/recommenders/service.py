"""get_recommendations: one entry point over the sources (krr CLI, native engine, a saved report)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from .filters import filter_recommendations
from .krr_cli import find_krr, scan_with_krr
from .models import ScanFilters, ScanRequest, ScanResult
from .saved_report import ReportError, load_report, report_reason

ProgressCallback = Callable[[int, int | None, str], Awaitable[None] | None]
"""progress(done, total_or_None, message); may be sync or async (e.g. an MCP Context.report_progress)."""


async def report(progress: ProgressCallback | None, done: int, total: int | None, message: str) -> None:
    if progress is None:
        return
    outcome = progress(done, total, message)
    if inspect.isawaitable(outcome):
        await outcome


def increasing(progress: ProgressCallback | None) -> ProgressCallback | None:
    """`progress` behind a guard that passes a report only when its `done` is above the last one passed
    (MCP: the progress value MUST increase with each notification), in the order the reports were made,
    even when concurrent namespaces report at once."""
    if progress is None:
        return None
    lock = asyncio.Lock()
    last: list[int] = []

    async def guarded(done: int, total: int | None, message: str) -> None:
        async with lock:
            if last and done <= last[0]:
                return
            last[:] = [done]
            await report(progress, done, total, message)

    return guarded


def choose_source(request: ScanRequest, krr_executable: str = "krr") -> tuple[str, str]:
    """(source, why): "auto" uses the saved report when one is set, else the krr CLI when it is on PATH,
    else the native engine."""
    if request.source == "report" or (request.source == "auto" and request.report_path):
        return "report", f"source '{request.source}' with the saved report {request.report_path}"
    if request.source == "krr":
        return "krr", "source 'krr' was requested"
    if request.source == "native":
        return "native", "source 'native' was requested"
    path = find_krr(krr_executable)
    if path:
        return "krr", f"source 'auto': the krr CLI was found at {path}"
    return "native", (
        "source 'auto': no krr executable on PATH, so the native Prometheus engine ran krr's simple strategy"
    )


async def get_recommendations(
    request: ScanRequest,
    *,
    progress: ProgressCallback | None = None,
    krr_executable: str = "krr",
    kube_api: Any = None,
) -> ScanResult:
    """Scan with the source `request.source` selects; the result's source/source_reason say which ran.

    Raises KrrCliError (krr failed), KrrOutputError (krr printed something unusable),
    PrometheusError (native engine could not scan at all) or ReportError (the saved report is
    unusable); per-container problems are items with `error` set, never guessed recommendations.
    A saved report's items are narrowed to the request's namespaces, kinds, names and label selector.
    `progress` gets (0, None, which source) first, then increasing counts of scanned containers with
    their total (the native engine: one report per namespace, or per container in per-object mode), and
    "scan finished" unless the last count already said everything was scanned.
    """
    source, why = choose_source(request, krr_executable)
    progress = increasing(progress)
    await report(progress, 0, None, f"scanning with {source}: {why}")
    if source == "report":
        result = _from_report(request)
        assert result.report is not None
        why = report_reason(result.report)
    elif source == "krr":
        result = await scan_with_krr(request, executable=krr_executable)
    else:
        from .native import scan_with_prometheus

        result = await scan_with_prometheus(request, progress=progress, kube_api=kube_api)
    await report(progress, result.summary.containers, result.summary.containers, "scan finished")
    return result.model_copy(update={"source_reason": why})


def _from_report(request: ScanRequest) -> ScanResult:
    if not request.report_path:
        raise ReportError("source 'report' needs a saved report (report_path, `krr-mcp serve --scan-report`)")
    selection = ScanFilters(
        namespaces=request.namespaces,
        kinds=request.kinds,
        names=request.names,
        label_selector=request.label_selector,
    )
    return filter_recommendations(load_report(request.report_path), selection)
