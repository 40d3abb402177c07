"""A small async Prometheus HTTP API client (httpx): instant queries, bounded concurrency, size cap.

Every failure is a PrometheusError saying what went wrong: unreachable, too slow, an error answer,
a malformed or oversized body, or a partial answer (warnings). It counts requests and bytes.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

MAX_RESPONSE_BYTES = 256 * 1024 * 1024
MAX_RANGE_POINTS = 10_000  # per range query: Prometheus refuses more than 11,000 points per series


class PrometheusError(RuntimeError):
    """Prometheus could not answer (down, slow, error, malformed or oversized response)."""


class PartialDataError(PrometheusError):
    """Prometheus answered with warnings: the data may be incomplete, so it is not used."""


def _short(promql: str) -> str:
    text = " ".join(promql.split())
    return text if len(text) <= 160 else text[:157] + "..."


class PrometheusApi:
    """Instant queries against one Prometheus; use as an async context manager."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 120.0,
        max_concurrency: int = 8,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise PrometheusError(f"Prometheus URL {url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.requests = 0
        self.bytes = 0
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers=headers,
            transport=transport,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )

    async def __aenter__(self) -> PrometheusApi:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, promql: str, at: datetime) -> list[dict[str, Any]]:
        """Run an instant query at `at`; return `data.result` (vector or matrix series)."""
        form = {"query": promql, "time": f"{at.timestamp():.3f}", "timeout": f"{self.timeout:g}s"}
        async with self._semaphore:
            self.requests += 1
            body = await self._post("/api/v1/query", form, promql)
        return self._result(body, promql)

    async def query_range(
        self, promql: str, start: datetime, end: datetime, step_seconds: int
    ) -> list[dict[str, Any]]:
        """A range query over [start, end] at `step_seconds` (points at start + k*step, as Prometheus
        evaluates one); longer than MAX_RANGE_POINTS points it is asked in consecutive pieces of the same
        grid and each series' values are joined, so the answer is the one Prometheus would give if it
        allowed that many points (it refuses more than 11,000). Values are [time, "number"] pairs."""
        first, last = start.timestamp(), end.timestamp()
        merged: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        piece = MAX_RANGE_POINTS * step_seconds
        lo = first
        while lo <= last:
            hi = min(lo + piece - step_seconds, last)
            form = {
                "query": promql,
                "start": f"{lo:.3f}",
                "end": f"{hi:.3f}",
                "step": f"{step_seconds}s",
                "timeout": f"{self.timeout:g}s",
            }
            async with self._semaphore:
                self.requests += 1
                body = await self._post("/api/v1/query_range", form, promql)
            for series in self._result(body, promql):
                key = tuple(sorted(series["metric"].items()))
                values = series.get("values")
                if not isinstance(values, list):
                    raise PrometheusError(f"malformed range series {series['metric']}")
                merged.setdefault(key, {"metric": series["metric"], "values": []})["values"].extend(values)
            lo = hi + step_seconds
        return list(merged.values())

    async def _post(self, path: str, form: dict[str, str], promql: str) -> bytes:
        try:
            async with self._client.stream("POST", self.url + path, data=form) as response:
                chunks = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise PrometheusError(
                            f"Prometheus answer to {_short(promql)!r} exceeds {self.max_response_bytes} bytes"
                        )
                    chunks.append(chunk)
                self.bytes += size
                body = b"".join(chunks)
                if response.status_code != 200:
                    raise PrometheusError(self._error_text(response.status_code, body, promql))
                return body
        except httpx.TimeoutException:
            raise PrometheusError(
                f"Prometheus at {self.url} did not answer within {self.timeout:g} s ({_short(promql)!r})"
            ) from None
        except httpx.HTTPError as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {exc}") from None

    @staticmethod
    def _error_text(status: int, body: bytes, promql: str) -> str:
        try:
            doc = json.loads(body)
            detail = f"{doc.get('errorType', 'error')}: {doc.get('error', '')}"
        except (ValueError, AttributeError):
            detail = body[:300].decode("utf-8", "replace")
        return f"Prometheus answered HTTP {status} to {_short(promql)!r}: {detail}"

    @staticmethod
    def _result(body: bytes, promql: str) -> list[dict[str, Any]]:
        try:
            doc = json.loads(body)
        except ValueError:
            raise PrometheusError(f"Prometheus answer to {_short(promql)!r} is not JSON") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            raise PrometheusError(
                f"Prometheus answer to {_short(promql)!r} is not a success: {str(doc)[:300]}"
            )
        if doc.get("warnings"):
            raise PartialDataError(f"Prometheus warned about {_short(promql)!r}: {doc['warnings'][:3]}")
        data = doc.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("result"), list):
            raise PrometheusError(f"Prometheus answer to {_short(promql)!r} has no data.result list")
        result: list[dict[str, Any]] = data["result"]
        for series in result:
            if not isinstance(series, dict) or not isinstance(series.get("metric"), dict):
                raise PrometheusError(f"Prometheus answer to {_short(promql)!r} has a malformed series")
        return result


def _finite(pair: Any, series: dict[str, Any]) -> float:
    """The number in a [time, "value"] pair; PrometheusError when it is not a finite number."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise PrometheusError(f"malformed sample in series {series.get('metric')}")
    try:
        number = float(pair[1])
    except (TypeError, ValueError):
        raise PrometheusError(f"non-numeric sample {pair[1]!r} in series {series.get('metric')}") from None
    if not math.isfinite(number):
        raise PrometheusError(f"non-finite sample {pair[1]!r} in series {series.get('metric')}")
    return number


def sample_value(series: dict[str, Any]) -> float:
    """The value of an instant-vector series; PrometheusError when it is not a finite number."""
    return _finite(series.get("value"), series)


def range_values(series: dict[str, Any]) -> list[float]:
    """The values of a range series, in time order; PrometheusError when one is not a finite number."""
    return [_finite(pair, series) for pair in series.get("values") or []]
