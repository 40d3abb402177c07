"""Metrics and probes answer, and their counters move with real work: the operator's /metrics,
/healthz and /readyz around a real apply and a refusal; the bridge's tool-call metrics."""

from __future__ import annotations

import socket

import httpx
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from krr_mcp.sandbox.handle import SandboxHandle
from mcp_bridge.server import build_server, http_app
from mcp_bridge.settings import BridgeSettings

from .scenes import NS, Scene
from .world import deployment

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_operator_metrics_and_probes_move_with_a_real_apply(scene: Scene) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with scene.operator(probe_port=port, probe_host="127.0.0.1"):
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").text == "ready"
        before = samples(httpx.get(f"{base}/metrics").text)
        scene.propose()
        scene.approve()
        scene.settle("Applied")
        scene.sandbox.apply(deployment(NS, "api"))
        scene.propose("sneaky-rr", "api")
        scene.bridge.patch_rr_spec(NS, "sneaky-rr", {"approved": True, "approvedBy": "alice"})
        scene.settle("Failed", "sneaky-rr", "api")
        response = httpx.get(f"{base}/metrics")
        assert response.headers["content-type"].startswith("text/plain")
        after = samples(response.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("krr_mcp_operator_applies_total", outcome="Succeeded") == 1
    assert moved("krr_mcp_operator_applies_total", outcome="Pending") == 0  # a stage, not an outcome
    assert moved("krr_mcp_operator_apply_seconds_count") == 1
    assert value(after, "krr_mcp_operator_apply_seconds_sum") > value(
        before, "krr_mcp_operator_apply_seconds_sum"
    )
    assert moved("krr_mcp_operator_reconciles_total", action="apply") >= 1
    assert moved("krr_mcp_operator_refusals_total", reason="ApprovalProvenance") >= 1
    assert moved("krr_mcp_operator_rollbacks_total", action="rollback", outcome="Succeeded") == 0


async def test_bridge_tool_metrics_count_calls_errors_and_latency(seeded_sandbox: SandboxHandle) -> None:
    server = build_server(BridgeSettings(kubeconfig=str(seeded_sandbox.kubeconfig)))
    app = http_app(
        server, host="127.0.0.1", token="s3cret-token-for-tests-0123", insecure_localhost_no_auth=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as web:
        assert (await web.get("/metrics")).status_code == 401  # behind the bridge's bearer token
        auth = {"Authorization": "Bearer s3cret-token-for-tests-0123"}
        before = samples((await web.get("/metrics", headers=auth)).text)
        async with Client(server) as client:
            ok = await client.call_tool("list_recommendations", {})
            bad = await client.call_tool("get_recommendation", {"namespace": "shop", "name": "nope"})
        assert not ok.is_error and bad.is_error
        after = samples((await web.get("/metrics", headers=auth)).text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("krr_mcp_bridge_tool_calls_total", tool="list_recommendations") == 1
    assert moved("krr_mcp_bridge_tool_errors_total", tool="list_recommendations") == 0
    assert moved("krr_mcp_bridge_tool_calls_total", tool="get_recommendation") == 1
    assert moved("krr_mcp_bridge_tool_errors_total", tool="get_recommendation") == 1
    assert moved("krr_mcp_bridge_tool_seconds_count", tool="get_recommendation") == 1


def test_operator_command_serves_probes_and_metrics(
    proxied_sandbox: tuple[SandboxHandle, object, str],
) -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    sandbox, _, _ = proxied_sandbox
    port = free_port()
    binary = Path(sys.executable).with_name("krr-mcp")
    proc = subprocess.Popen(
        [str(binary), "operator", "--kubeconfig", str(sandbox.kubeconfig), "--probe-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                ready = answer if answer.status_code == 200 else None
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ready is not None and ready.text == "ready", "the operator's /readyz never answered 200"
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "# TYPE krr_mcp_operator_applies_total counter" in text
        assert "# TYPE krr_mcp_operator_apply_seconds histogram" in text
    finally:
        proc.terminate()
        proc.wait(30)
