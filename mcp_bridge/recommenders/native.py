"""Native engine: krr's simple strategy against Prometheus (filled in next)."""

from __future__ import annotations

from typing import Any

from .models import ScanRequest, ScanResult


class PrometheusError(RuntimeError):
    """Prometheus could not answer (down, slow, error, malformed or oversized response)."""


async def scan_with_prometheus(
    request: ScanRequest, *, progress: Any = None, kube_api: Any = None
) -> ScanResult:
    raise PrometheusError("native engine not implemented yet")
