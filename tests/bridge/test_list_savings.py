"""list_recommendations returns what the recommendations save (the operator's status.savings): per item,
per namespace and in total, the sums on every page."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION
from krr_mcp.sandbox.testing import SandboxHandle

from .test_paging import _pages, paged_rr


def _savings(monthly: float, currency: str) -> dict[str, Any]:
    return {
        "replicas": 2, "cpuCores": 1.0, "memoryBytes": 2**30, "monthly": monthly, "currency": currency,
        "cpuPerCoreHour": 0.05, "memoryPerGiBHour": 0.01, "pricesFrom": "test",
        "perMonth": f"{monthly} {currency}",
    }  # fmt: skip


async def test_list_pages_carry_the_savings_sums(server: MCPServer, cluster: SandboxHandle) -> None:
    rrs = [paged_rr("shop", i) for i in range(3)] + [paged_rr("billing", i, "api") for i in range(2)]
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
            and "Together (all pages) the open proposals would save 8.25 EUR per month" in text
        )


async def test_ended_and_refused_recommendations_count_in_no_sum(
    server: MCPServer, cluster: SandboxHandle
) -> None:
    """Open proposals sum apart from applied changes; Rejected, Superseded, Expired, RolledBack, Failed,
    Stale and a proposal refused before the operator saw it count in neither (each priced earlier)."""
    status = {0: "Proposed", 1: "Approved", 2: "Applied", 3: "Rejected", 4: "Superseded", 5: "Expired",
              6: "RolledBack", 7: "Failed", 8: "Stale", 9: "Proposed"}  # fmt: skip
    rrs = [paged_rr("shop", i) for i in status]
    rrs[9]["spec"]["rejected"] = True
    cluster.apply(*rrs)
    with cluster.api_client() as api:
        for index, phase in status.items():
            client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
                GROUP, VERSION, "shop", PLURAL, f"web-deploy-{index:03d}",
                {"status": {"phase": phase, "savings": _savings(2.0 ** index, "EUR")}},
            )  # fmt: skip
    async with Client(server) as mcp_client:
        for page in await _pages(mcp_client, "list_recommendations", {"limit": 4}):
            assert page["monthly_savings"] == {"EUR": 3.0} and page["applied_monthly_savings"] == {"EUR": 4.0}
            shop = page["by_namespace"]["shop"]
            assert shop["monthly_savings"] == {"EUR": 3.0} and shop["applied_monthly_savings"] == {"EUR": 4.0}
        text = (await mcp_client.call_tool("list_recommendations", {})).content[0].text  # type: ignore[union-attr]
        assert "the open proposals would save 3.00 EUR per month" in text
        assert "The applied changes (all pages) save 4.00 EUR per month" in text
