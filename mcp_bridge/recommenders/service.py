"""get_recommendations: one entry point over both sources (krr CLI, native engine)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from .krr_cli import find_krr, scan_with_krr
from .models import ScanRequest, ScanResult

ProgressCallback = Callable[[int, int | None, str], Awaitable[None] | None]
"""progress(done, total_or_None, message); may be sync or async (e.g. an MCP Context.report_progress)."""


async def report(progress: ProgressCallback | None, done: int, total: int | None, message: str) -> None:
    if progress is None:
        return
    outcome = progress(done, total, message)
    if inspect.isawaitable(outcome):
        await outcome


def choose_source(request: ScanRequest, krr_executable: str = "krr") -> tuple[str, str]:
    """(source, why): "auto" prefers the krr CLI when it is on PATH, else the native engine."""
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

    Raises KrrCliError (krr failed), KrrOutputError (krr printed something unusable) or
    PrometheusError (native engine could not scan at all); per-container problems are items with
    `error` set, never guessed recommendations.
    """
    source, why = choose_source(request, krr_executable)
    await report(progress, 0, None, f"scanning with {source}: {why}")
    if source == "krr":
        result = await scan_with_krr(request, executable=krr_executable)
    else:
        from .native import scan_with_prometheus

        result = await scan_with_prometheus(request, progress=progress, kube_api=kube_api)
    await report(progress, result.summary.containers, result.summary.containers, "scan finished")
    return result.model_copy(update={"source_reason": why})
