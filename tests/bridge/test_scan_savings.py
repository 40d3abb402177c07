"""What a scan's recommendations save, in money per month: priced with the cluster policy's table, or with
OpenCost's prices when the policy names an OpenCost endpoint (the native engine on a real Prometheus,
the bridge over the MCP client, on the sandbox API server).

OpenCost cannot run here (it needs a cluster, its own Prometheus and a cloud price feed), so
`OpenCostStub` serves OpenCost's documented `/allocation` answer (opencost.io/docs/integrations/api:
`{"code": 200, "data": [{<name>: {"cpuCoreHours", "cpuCost", "ramByteHours", "ramCost", ...}}]}`) from a
local HTTP server: what is tested is how the bridge reads that shape and what it does when the answer is
bad or missing, not OpenCost itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.sandbox.testing import SandboxHandle

from .test_scan import prometheus_url, scanning_server  # noqa: F401 (fixtures)

GIB = Decimal(2**30)
SCAN = {"namespaces": ["shop", "billing"]}
TABLE: dict[str, Any] = {"cpuPerCoreHour": 0.05, "memoryPerGiBHour": 0.01, "currency": "EUR"}


def apply_pricing(cluster: SandboxHandle, **pricing: Any) -> None:
    policy = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ClusterRecommendationPolicy",
        "metadata": {"name": "default"},
        "spec": {"pricing": pricing},
    }
    done = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(policy))
    assert done.returncode == 0, done.stderr


def expected_monthly(item: dict[str, Any], cpu_price: Decimal, memory_price: Decimal) -> Decimal:
    """(current - recommended) requests x running pods x prices x 730 h, from the item's own numbers."""
    pods = item["monthly_savings"]["replicas"]
    change = {}
    for resource in ("cpu", "memory"):
        now = item["current"]["requests"].get(resource)
        new = item["recommended"]["requests"].get(resource)
        change[resource] = (
            parse_resource_quantity(now, resource) - parse_resource_quantity(new, resource)
            if now is not None and new is not None
            else Decimal(0)
        )
    hourly = change["cpu"] * cpu_price + change["memory"] / GIB * memory_price
    return (hourly * pods * 730).quantize(Decimal("0.01"))


async def scan(server: MCPServer) -> tuple[dict[str, Any], str]:
    async with Client(server) as client:
        result = await client.call_tool("scan_recommendations", SCAN)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content, result.content[0].text  # type: ignore[union-attr]


def check_priced(out: dict[str, Any], cpu_price: str, memory_price: str, currency: str) -> None:
    """Every recommendation priced at these prices, and the summary and namespace sums add up."""
    priced = [i for i in out["items"] if i["recommended"] is not None]
    assert len(priced) >= 3
    assert all(i["monthly_savings"] is None for i in out["items"] if i["recommended"] is None)
    total = Decimal(0)
    by_namespace: dict[str, Decimal] = {}
    for item in priced:
        savings = item["monthly_savings"]
        want = expected_monthly(item, Decimal(cpu_price), Decimal(memory_price))
        assert Decimal(repr(savings["monthly"])) == want, item["name"]
        assert savings["perMonth"] == f"{want} {currency}" and savings["currency"] == currency
        total += want
        by_namespace[item["namespace"]] = by_namespace.get(item["namespace"], Decimal(0)) + want
    assert any(i["monthly_savings"]["monthly"] != 0 for i in priced)
    summary = out["summary"]
    assert Decimal(repr(summary["monthly_savings"])) == total and summary["currency"] == currency
    for namespace, money in by_namespace.items():
        assert Decimal(repr(out["by_namespace"][namespace]["monthly_savings"])) == money
    assert out["prices"]["cpu_per_core_hour"] == float(cpu_price)
    assert out["prices"]["memory_per_gib_hour"] == float(memory_price)


async def test_scan_savings_at_the_built_in_prices_then_the_cluster_policys(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
) -> None:
    out, text = await scan(scanning_server)
    check_priced(out, "0.031611", "0.004237", "USD")
    assert "OpenCost's default prices" in out["prices"]["source"]
    assert f"{out['summary']['monthly_savings']:.2f} USD per month" in text

    apply_pricing(cluster, **TABLE)
    out, text = await scan(scanning_server)
    check_priced(out, "0.05", "0.01", "EUR")
    assert out["prices"]["source"] == "the ClusterRecommendationPolicy's price table"
    assert "EUR per month" in text and not out["warnings"]


class OpenCostStub:
    """A local HTTP server answering GET /allocation with `answer` (status, body) and recording queries."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, b"{}")
        self.queries: list[dict[str, list[str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/allocation":
                    self.send_error(404)
                    return
                stub.queries.append(parse_qs(parts.query))
                status, body = stub.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, status: int, body: Any) -> None:
        self.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())


@pytest.fixture
def opencost() -> Iterator[OpenCostStub]:
    stub = OpenCostStub()
    stub.thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()


def allocation(name: str, cpu_hours: float, cpu_cost: float, ram_gib_hours: float, ram_cost: float) -> Any:
    """One allocation as OpenCost's /allocation API documents it (the fields read, and some others)."""
    return {
        "name": name,
        "properties": {"cluster": "cluster-one"},
        "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"},
        "cpuCores": cpu_hours / 168,
        "cpuCoreHours": cpu_hours,
        "cpuCost": cpu_cost,
        "ramBytes": ram_gib_hours * 2**30 / 168,
        "ramByteHours": ram_gib_hours * 2**30,
        "ramCost": ram_cost,
        "pvCost": 1.5,
        "networkCost": 0,
        "totalCost": cpu_cost + ram_cost + 1.5,
    }


async def test_scan_savings_at_opencosts_prices(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
    opencost: OpenCostStub,
) -> None:
    # Two allocations: 100 core-hours for 4.00 and 60 for 2.40 -> 0.04 per core-hour; 300 GiB-hours
    # for 1.00 and 100 for 1.00 -> 0.005 per GiB-hour.
    opencost.serve(200, {"code": 200, "data": [{
        "cluster-one": allocation("cluster-one", 100, 4.0, 300, 1.0),
        "__idle__": allocation("__idle__", 60, 2.4, 100, 1.0),
    }]})  # fmt: skip
    apply_pricing(
        cluster, cpuPerCoreHour=0.05, memoryPerGiBHour=0.01, currency="EUR", openCostUrl=opencost.url
    )
    out, _ = await scan(scanning_server)
    check_priced(out, "0.04", "0.005", "EUR")
    assert out["prices"]["source"].startswith(f"OpenCost at {opencost.url}") and not out["warnings"]
    assert opencost.queries[-1] == {"window": ["7d"], "aggregate": ["cluster"], "accumulate": ["true"]}


BAD_ANSWERS = [
    ("http-500", 500, b"boom", "HTTP 500"),
    ("not-json", 200, b"<html>", "not JSON"),
    ("error-code", 200, {"code": 500, "message": "no Prometheus"}, "code is 500"),
    ("no-data", 200, {"code": 200, "data": [{}]}, "no CPU core-hours"),
    ("data-not-a-list", 200, {"code": 200, "data": "x"}, "no data list"),
    (
        "negative-cost",
        200,
        {"code": 200, "data": [{"a": {"cpuCoreHours": 1, "cpuCost": -5, "ramByteHours": 1, "ramCost": 1}}]},
        "not a finite non-negative number",
    ),
    ("nan-cost", 200, b'{"code": 200, "data": [{"a": {"cpuCoreHours": 1, "cpuCost": NaN}}]}', "not a finite"),
    (
        "string-cost",
        200,
        {"code": 200, "data": [{"a": {"cpuCoreHours": "1e400", "cpuCost": 1}}]},
        "not a number",
    ),
]


@pytest.mark.parametrize(("case", "status", "body", "said"), BAD_ANSWERS, ids=[c[0] for c in BAD_ANSWERS])
async def test_a_bad_opencost_answer_warns_and_prices_with_the_table(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
    opencost: OpenCostStub,
    case: str,
    status: int,
    body: Any,
    said: str,
) -> None:
    opencost.serve(status, body)
    apply_pricing(
        cluster, cpuPerCoreHour=0.05, memoryPerGiBHour=0.01, currency="EUR", openCostUrl=opencost.url
    )
    out, text = await scan(scanning_server)
    check_priced(out, "0.05", "0.01", "EUR")  # nothing lost: the table prices every recommendation
    (warning,) = out["warnings"]
    assert warning["message"].startswith(f"OpenCost at {opencost.url}: ") and said in warning["message"]
    assert "priced with the ClusterRecommendationPolicy's price table instead" in warning["message"]
    assert f"warning: {warning['message']}" in text


async def test_an_unreachable_opencost_warns_and_prices_with_the_table(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
    opencost: OpenCostStub,
) -> None:
    opencost.server.shutdown()
    opencost.server.server_close()  # nothing listens on its port any more
    apply_pricing(cluster, openCostUrl=opencost.url)
    out, _ = await scan(scanning_server)
    check_priced(out, "0.031611", "0.004237", "USD")
    (warning,) = out["warnings"]
    assert "cannot reach it" in warning["message"] and "OpenCost's default prices" in warning["message"]
