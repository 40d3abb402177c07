"""The real thing: `krr-mcp serve` as a subprocess, driven over stdio and streamable HTTP by the SDK's
own clients, against the sandbox."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from krr_mcp.sandbox.testing import SandboxHandle

from .bridge_support import WEB_PROPOSAL

ROOT = Path(__file__).resolve().parents[2]
KRR_MCP = ROOT / ".venv" / "bin" / "krr-mcp"
if not KRR_MCP.exists():
    KRR_MCP = Path(sys.executable).parent / "krr-mcp"
TOKEN = "s3cret-token-for-tests-0123456789"
# The sandbox enforces no RBAC, so its one user may approve: the bridge serves it only when told so.
SANDBOX_IDENTITY = "--unsafe-allow-approver-credentials"


async def test_stdio_subprocess_scan_preview_propose(cluster: SandboxHandle, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=str(KRR_MCP), args=["serve", "--kubeconfig", str(cluster.kubeconfig), SANDBOX_IDENTITY]
    )
    with open(tmp_path / "server.stderr", "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            scan = await client.call_tool("scan_recommendations", {"namespaces": ["shop"]})
            explain = await client.call_tool(
                "explain_recommendation",
                {"namespace": "shop", "kind": "Deployment", "name": "web", "container": "web"},
            )
            preview = await client.call_tool("preview_change", WEB_PROPOSAL)
            propose = await client.call_tool(
                "propose_change", {"proposals": [WEB_PROPOSAL], "reason": "idle web"}
            )
            assert not propose.is_error, propose.content
            name = propose.structured_content["created"][0]["name"]  # type: ignore[index]
            listed = await client.call_tool("list_recommendations", {"namespace": "shop"})
            got = await client.call_tool("get_recommendation", {"namespace": "shop", "name": name})
            trail = await client.call_tool("audit_trail", {"namespace": "shop", "recommendation": name})
            rollback = await client.call_tool(
                "request_rollback_proposal", {"namespace": "shop", "name": name, "reason": "undo"}
            )
            resource = await client.read_resource(f"krr://recommendations/shop/{name}")
    assert len(tools) == 8
    # The scan and explain answer (with results, or with a clear error when no recommender source is
    # reachable from this sandbox); never a crash.
    for result in (scan, explain):
        text = result.content[0].text  # type: ignore[union-attr]
        assert result.structured_content is not None or (
            "scan failed" in text or "no recommendation" in text
        ), text
    assert not preview.is_error and preview.structured_content["dry_run"]["accepted"] is True  # type: ignore[index]
    assert [i["name"] for i in listed.structured_content["items"]] == [name]  # type: ignore[index]
    assert not got.is_error and not trail.is_error
    assert rollback.is_error and "only an Applied recommendation" in rollback.content[0].text  # type: ignore[union-attr]
    assert json.loads(resource.contents[0].text)["metadata"]["name"] == name  # type: ignore[union-attr]
    # The proposal is in the cluster, unapproved, for a human to look at with kubectl.
    shown = cluster.kubectl("get", "rr", name, "-n", "shop", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    spec = json.loads(shown.stdout)["spec"]
    assert spec.get("approved", False) is False and "approvedBy" not in spec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                found.add(address)
    return found


@contextmanager
def http_server(
    cluster: SandboxHandle,
    *extra: str,
    token: str | None = TOKEN,
    host: str = "127.0.0.1",
    krr_mcp: Path = KRR_MCP,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[int, Any]]:
    """`krr_mcp serve --transport http` on a free port (this checkout's by default; `env` replaces
    os.environ); yields once it accepts connections."""
    port = free_port()
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "MCP_SERVER_TOKEN"}
    if token:
        env["MCP_SERVER_TOKEN"] = token
    args = [
        str(krr_mcp),
        "serve",
        "--transport",
        "http",
        "--port",
        str(port),
        "--kubeconfig",
        str(cluster.kubeconfig),
        SANDBOX_IDENTITY,
    ]
    # stderr to a file, not a pipe nobody reads: a chatty server would block once the pipe is full.
    with tempfile.TemporaryFile("w+") as errlog:
        proc = subprocess.Popen([*args, *extra], env=env, stderr=errlog, stdout=subprocess.DEVNULL, text=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    socket.create_connection((host, port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            errlog.seek(0)
            assert proc.poll() is None, errlog.read()
            yield port, proc
        finally:
            proc.terminate()
            proc.wait(timeout=10)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_http_needs_the_bearer_token_and_binds_loopback(cluster: SandboxHandle) -> None:
    with http_server(cluster) as (port, _proc):
        url = f"http://127.0.0.1:{port}/mcp"
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, by default
        missing = httpx.post(url, json=INITIALIZE, headers=HEADERS)
        wrong = httpx.post(url, json=INITIALIZE, headers=HEADERS | {"Authorization": "Bearer not-the-token"})
        other_scheme = httpx.post(url, json=INITIALIZE, headers=HEADERS | {"Authorization": f"Basic {TOKEN}"})
        right = httpx.post(url, json=INITIALIZE, headers=HEADERS | {"Authorization": f"Bearer {TOKEN}"})
        assert (missing.status_code, wrong.status_code, other_scheme.status_code) == (401, 401, 401)
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert right.status_code == 200, right.text
        authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
        async with authorized as http, Client(streamable_http_client(url, http_client=http)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            listed = await client.call_tool("list_recommendations", {})
        assert "propose_change" in tools and not listed.is_error
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer wrong"}) as http:
            with pytest.raises(Exception):  # noqa: B017 (the SDK raises its own transport error type)
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    await client.list_tools()


def test_http_refuses_to_start_without_a_token(cluster: SandboxHandle) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MCP_SERVER_TOKEN"}
    base = [str(KRR_MCP), "serve", "--transport", "http", "--kubeconfig", str(cluster.kubeconfig)]
    no_token = subprocess.run(base, env=env, capture_output=True, text=True, timeout=30)
    exposed = subprocess.run(
        [*base, "--insecure-localhost-no-auth", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert no_token.returncode == 2 and "MCP_SERVER_TOKEN" in no_token.stderr
    assert exposed.returncode == 2 and "loopback" in exposed.stderr
    assert "Traceback" not in no_token.stderr + exposed.stderr


async def test_http_insecure_localhost_flag_serves_without_a_token(cluster: SandboxHandle) -> None:
    with http_server(cluster, "--insecure-localhost-no-auth", "--read-only", token=None) as (port, _proc):
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            tools = {t.name for t in (await client.list_tools()).tools}
    assert "propose_change" not in tools and "list_recommendations" in tools


def test_serve_without_a_usable_kubeconfig_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(KRR_MCP), "serve", "--kubeconfig", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "cannot load the Kubernetes configuration" in done.stderr and "Traceback" not in done.stderr


async def test_http_refuses_foreign_origin_and_host_on_any_loopback_address(cluster: SandboxHandle) -> None:
    """The SDK's own DNS-rebinding defaults only cover 127.0.0.1/localhost/::1: on 127.0.0.2 it used to
    accept `Origin: http://attacker.example`."""
    host = "127.0.0.2"
    flags = ("--host", host, "--insecure-localhost-no-auth", "--read-only")
    with http_server(cluster, *flags, token=None, host=host) as (port, _proc):
        url = f"http://{host}:{port}/mcp"
        attacker = httpx.post(url, json=INITIALIZE, headers=HEADERS | {"Origin": "http://attacker.example"})
        rebound = httpx.post(url, json=INITIALIZE, headers=HEADERS | {"Host": f"attacker.example:{port}"})
        same_origin = httpx.post(url, json=INITIALIZE, headers=HEADERS | {"Origin": f"http://{host}:{port}"})
        plain = httpx.post(url, json=INITIALIZE, headers=HEADERS)
        async with Client(url) as client:  # the SDK's client sends the Host it connected to
            tools = {t.name for t in (await client.list_tools()).tools}
    assert (attacker.status_code, rebound.status_code) == (403, 421)
    assert (same_origin.status_code, plain.status_code) == (200, 200), (same_origin.text, plain.text)
    assert "list_recommendations" in tools


def test_http_on_a_wildcard_address_needs_the_allowed_host_names(cluster: SandboxHandle) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MCP_SERVER_TOKEN"} | {"MCP_SERVER_TOKEN": TOKEN}
    base = [str(KRR_MCP), "serve", "--transport", "http", "--kubeconfig", str(cluster.kubeconfig)]
    done = subprocess.run([*base, "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--allowed-host" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


async def test_http_metrics_labels_stay_bounded_under_unknown_tool_names(cluster: SandboxHandle) -> None:
    """1,500 calls to made-up tool names once grew /metrics to 3.8 MB: unknown names share one label."""
    with http_server(cluster) as (port, _proc):
        url = f"http://127.0.0.1:{port}/mcp"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=auth) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            for i in range(300):
                unknown = await client.call_tool(f"no_such_tool_{i}_{'x' * 40}", {})
                assert unknown.is_error
            await client.call_tool("list_recommendations", {})
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=auth).text
    tools = {line.split('tool="')[1].split('"')[0] for line in metrics.splitlines() if 'tool="' in line}
    assert tools == {"(unknown)", "list_recommendations"}, sorted(tools)[:5]
    assert len(metrics) < 30_000
    assert 'krr_mcp_bridge_tool_calls_total{tool="(unknown)"} 300.0' in metrics


def test_http_caps_concurrent_sessions(cluster: SandboxHandle) -> None:
    with http_server(cluster, "--max-sessions", "2") as (port, _proc):
        url = f"http://127.0.0.1:{port}/mcp"
        headers = HEADERS | {"Authorization": f"Bearer {TOKEN}"}
        opened = [httpx.post(url, json=INITIALIZE, headers=headers) for _ in range(3)]
    assert [r.status_code for r in opened] == [200, 200, 503]
    assert "Too many open sessions" in opened[2].text
