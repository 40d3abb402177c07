"""list_recommendations returns what the recommendations save (the operator's status.savings): per item,
per namespace and in total, the sums on every page."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION
from krr_mcp.sandbox.testing import SandboxHandle

from .test_paging import _pages, _rr


def _savings(monthly: float, currency: str) -> dict[str, Any]:
    return {
        "replicas": 2, "cpuCores": 1.0, "memoryBytes": 2**30, "monthly": monthly, "currency": currency,
        "cpuPerCoreHour": 0.05, "memoryPerGiBHour": 0.01, "pricesFrom": "test",
        "perMonth": f"{monthly} {currency}",
    }  # fmt: skip


async def test_list_pages_carry_the_savings_sums(server: MCPServer, cluster: SandboxHandle) -> None:
    rrs = [_rr("shop", i) for i in range(3)] + [_rr("billing", i, "api") for i in range(2)]
    cluster.apply(*rrs)
    money = {("shop", 0): (10.25, "EUR"), ("shop", 1): (-2.0, "EUR"), ("billing", 0): (7.5, "USD"),
             ("billing", 1): (1.0, "EUR")}  # fmt: skip  # shop/web-deploy-002: not priced yet
    with cluster.api_client() as api:
        for (namespace, index), (amount, currency) in money.items():
            name = f"{'web' if namespace == 'shop' else 'api'}-deploy-{index:03d}"
            client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, {"status": {"savings": _savings(amount, currency)}}
            )
    async with Client(server) as mcp_client:
        pages = await _pages(mcp_client, "list_recommendations", {"limit": 2})
        assert len(pages) == 3
        for page in pages:
            assert page["monthly_savings"] == {"EUR": 9.25, "USD": 7.5}
            assert page["by_namespace"]["shop"]["monthly_savings"] == {"EUR": 8.25}
            assert page["by_namespace"]["billing"]["monthly_savings"] == {"EUR": 1.0, "USD": 7.5}
        items = {i["name"]: i["saves_per_month"] for p in pages for i in p["items"]}
        assert items == {"web-deploy-000": "10.25 EUR", "web-deploy-001": "-2.00 EUR", "web-deploy-002": "",
                         "api-deploy-000": "7.50 USD", "api-deploy-001": "1.00 EUR"}  # fmt: skip
        result = await mcp_client.call_tool("list_recommendations", {"namespace": "shop"})
        text = result.content[0].text  # type: ignore[union-attr]
        assert (
            "saves 10.25 EUR per month" in text
            and "Together (all pages) they save 8.25 EUR per month" in text
        )
