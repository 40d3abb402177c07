"""What a scan's recommendations save, in money per month: priced with the cluster policy's table, or with
OpenCost's prices when the policy names an OpenCost endpoint (the native engine on a real Prometheus,
the bridge over the MCP client, on the sandbox API server). OpenCost is a stand-in serving its documented
answer (tests/opencost_stub.py says why); the bad answers are the corpus' (tests/corpus/opencost).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.sandbox.testing import SandboxHandle

from ..opencost_stub import TWO_ALLOCATIONS, OpenCostStub, bad_answers, opencost  # noqa: F401 (fixture)
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


async def test_scan_savings_at_opencosts_prices(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
    opencost: OpenCostStub,  # noqa: F811
) -> None:
    opencost.serve(200, TWO_ALLOCATIONS)  # 0.04 per core-hour, 0.005 per GiB-hour
    apply_pricing(
        cluster, cpuPerCoreHour=0.05, memoryPerGiBHour=0.01, currency="EUR", openCostUrl=opencost.url
    )
    out, _ = await scan(scanning_server)
    check_priced(out, "0.04", "0.005", "EUR")
    assert out["prices"]["source"].startswith(f"OpenCost at {opencost.url}") and not out["warnings"]
    assert opencost.queries[-1] == {"window": ["7d"], "aggregate": ["cluster"], "accumulate": ["true"]}


def refusal(entry: Path, url: str) -> str:
    """What the corpus says the price reader answers to `entry` (the warning), at `url`."""
    said = entry.with_name(entry.name + ".expected").read_text().splitlines()[0]
    return said.removeprefix("refused: ").replace("OPENCOST", url)


@pytest.mark.parametrize("entry", bad_answers(), ids=lambda p: p.stem)
async def test_a_bad_opencost_answer_warns_and_prices_with_the_table(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
    opencost: OpenCostStub,  # noqa: F811
    entry: Path,
) -> None:
    opencost.serve_entry(entry)
    apply_pricing(
        cluster, cpuPerCoreHour=0.05, memoryPerGiBHour=0.01, currency="EUR", openCostUrl=opencost.url
    )
    out, text = await scan(scanning_server)
    check_priced(out, "0.05", "0.01", "EUR")  # nothing lost: the table prices every recommendation
    (warning,) = out["warnings"]
    assert warning["message"] == refusal(entry, opencost.url)
    assert "priced with the ClusterRecommendationPolicy's price table instead" in warning["message"]
    assert f"warning: {warning['message']}" in text


async def test_an_unreachable_opencost_warns_and_prices_with_the_table(
    scanning_server: MCPServer,  # noqa: F811
    cluster: SandboxHandle,
    opencost: OpenCostStub,  # noqa: F811
) -> None:
    opencost.stop()
    apply_pricing(cluster, openCostUrl=opencost.url)
    out, _ = await scan(scanning_server)
    check_priced(out, "0.031611", "0.004237", "USD")
    (warning,) = out["warnings"]
    assert "cannot reach it" in warning["message"] and "OpenCost's default prices" in warning["message"]
