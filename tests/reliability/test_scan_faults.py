"""Prometheus goes away in the middle of a scan: the bridge's scan tool fails clearly, returns no partial
result, and nothing is proposed (no ResourceRecommendation is created from partial data)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from mcp import Client

from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings

from ..bridge.bridge_support import list_rrs


@pytest.fixture
def prometheus_url(seeded_sandbox: SandboxHandle, tmp_path: Path) -> Iterator[str]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("prometheus/promtool are not installed (Debian package 'prometheus')")
    from krr_mcp.demo.history import history_for
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb

    listed = seeded_sandbox.kubectl("get", "deployments,statefulsets,daemonsets,cronjobs", "-A", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    end = (int(time.time()) // 60 + 10) * 60
    tsdb = build_tsdb(history_for(json.loads(listed.stdout)["items"], end, days=1), tmp_path / "history")
    with PrometheusProcess(tsdb) as prometheus:
        yield prometheus.url


@pytest.fixture
async def dying_prometheus(prometheus_url: str) -> AsyncIterator[tuple[str, list[str]]]:
    """A proxy to the real Prometheus that answers the first queries, then 503 for all the rest."""
    seen: list[str] = []
    upstream = httpx.AsyncClient(base_url=prometheus_url, timeout=30)

    async def handle(request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else dict(request.query)
        seen.append(str(form.get("query", request.path)))
        if len(seen) > 3:
            return web.Response(status=503, text="prometheus is shutting down")
        answer = await upstream.request(request.method, request.path, params=request.query, data=form or None)
        return web.Response(body=answer.content, status=answer.status_code, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()
        await upstream.aclose()


async def test_prometheus_dies_mid_scan_no_proposal_from_partial_data(
    seeded_sandbox: SandboxHandle, dying_prometheus: tuple[str, list[str]]
) -> None:
    url, seen = dying_prometheus
    server = build_server(
        BridgeSettings(kubeconfig=str(seeded_sandbox.kubeconfig), prometheus_url=url, source="native")
    )
    before = list_rrs(seeded_sandbox)
    async with Client(server) as client:
        scan = await client.call_tool("scan_recommendations", {"namespaces": ["shop", "billing"]})
    assert len(seen) > 3, "the fault did not happen mid-scan"
    assert scan.is_error, scan.structured_content
    text = scan.content[0].text  # type: ignore[union-attr]
    assert "the scan failed" in text and "503" in text, text
    assert not scan.structured_content or not scan.structured_content.get("items"), "partial items returned"
    assert list_rrs(seeded_sandbox) == before, "something was proposed from a failed scan"
