"""Issue 17 item 7: a long scan's progress reaches the MCP client as progress notifications, over the
real stdio and streamable HTTP transports (`krr-mcp serve` as a subprocess, the SDK's own `Client`),
against a real Prometheus holding the history of a synthetic cluster the sandbox API server lists."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from krr_mcp.metrics_history import PrometheusProcess, build_tsdb, synthetic_cluster, workload_objects
from krr_mcp.sandbox.testing import SandboxHandle

from .test_transports import KRR_MCP, SANDBOX_IDENTITY, TOKEN, http_server

CONTAINERS = 60
NAMESPACES = 6
HISTORY_HOURS = 6
Progress = list[tuple[float, float | None, str | None]]


@pytest.fixture
def scan_cluster(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[tuple[SandboxHandle, str]]:
    """The sandbox listing a synthetic cluster's Deployments, and a Prometheus with their history
    (ending a little past now: the bridge scans at the current time)."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus')")
    end = (int(time.time()) // 60 + 10) * 60
    spec = synthetic_cluster(
        CONTAINERS, end=end, days=HISTORY_HOURS / 24, namespaces=NAMESPACES, ksm_step=300
    )
    sandbox.apply(*workload_objects(spec))
    with PrometheusProcess(build_tsdb(spec, tmp_path / "history")) as prometheus:
        yield sandbox, prometheus.url


def native_source(prometheus_url: str) -> list[str]:
    return ["--prometheus-url", prometheus_url, "--source", "native"]


async def scan_with_progress(client: Client) -> tuple[dict[str, object], Progress]:
    progress: Progress = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    result = await client.call_tool(
        "scan_recommendations", {"history_hours": HISTORY_HOURS}, progress_callback=on_progress
    )
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content, progress


def assert_progress(out: dict[str, object], progress: Progress) -> None:
    assert out["total"] == CONTAINERS, out["errors"]
    done = [p[0] for p in progress]
    # The source first, then one notification per namespace: several, strictly increasing, with a total.
    assert len(progress) >= 1 + NAMESPACES, progress
    assert done == sorted(set(done)), progress
    assert progress[0][0] == 0 and "native" in (progress[0][2] or "")
    counted = progress[1:]
    assert all(total == CONTAINERS for _, total, _ in counted), progress
    assert counted[-1][0] == CONTAINERS
    assert all(f"of {CONTAINERS} containers" in (message or "") for _, _, message in counted), progress


async def test_scan_progress_reaches_the_stdio_client(
    scan_cluster: tuple[SandboxHandle, str], tmp_path: Path
) -> None:
    sandbox, prometheus_url = scan_cluster
    args = [
        "serve",
        "--kubeconfig",
        str(sandbox.kubeconfig),
        SANDBOX_IDENTITY,
        *native_source(prometheus_url),
    ]
    params = StdioServerParameters(command=str(KRR_MCP), args=args)
    with open(tmp_path / "server.stderr", "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            out, progress = await scan_with_progress(client)
    assert_progress(out, progress)


async def test_scan_progress_reaches_the_http_client(scan_cluster: tuple[SandboxHandle, str]) -> None:
    sandbox, prometheus_url = scan_cluster
    with http_server(sandbox, *native_source(prometheus_url)) as (port, _proc):
        url = f"http://127.0.0.1:{port}/mcp"
        # The scan's answer may come more than the client's default 5 s after a progress notification on
        # a loaded machine; the SDK then reports "SSE stream ended without a response".
        authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        async with authorized as http, Client(streamable_http_client(url, http_client=http)) as client:
            out, progress = await scan_with_progress(client)
    assert_progress(out, progress)
