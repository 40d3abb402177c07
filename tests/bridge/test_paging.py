"""Pages of list_recommendations and scan_recommendations: a cursor per page, totals on every page."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.sandbox.testing import SandboxHandle


def _rr(namespace: str, index: int, target: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {
            "name": f"{target}-deploy-{index:03d}",
            "namespace": namespace,
            "labels": {"krr-mcp.io/target-kind": "Deployment", "krr-mcp.io/target-name": target},
        },
        "spec": {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "containers": [
                {
                    "name": "web",
                    "current": {"requests": {"cpu": "1", "memory": "1Gi"}},
                    "proposed": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                }
            ],
            "evidence": {"source": "native"},
            "reason": "paging test",
        },
    }


async def _pages(client: Client, tool: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        result = await client.call_tool(tool, arguments | ({"cursor": cursor} if cursor else {}))
        assert not result.is_error, result.content
        page: Any = result.structured_content
        pages.append(page)
        cursor = page["next_cursor"]
        assert page["truncated"] == (cursor is not None)
        if cursor is None:
            return pages


async def test_list_pages_cover_every_rr_once_with_totals_on_each(
    server: MCPServer, cluster: SandboxHandle
) -> None:
    cluster.apply(*(_rr("shop", i) for i in range(7)), *(_rr("billing", i, "api") for i in range(3)))
    async with Client(server) as client:
        default = (await client.call_tool("list_recommendations", {})).structured_content
        assert default is not None and default["total"] == 10 and default["next_cursor"] is None
        pages = await _pages(client, "list_recommendations", {"limit": 4})
        assert [len(p["items"]) for p in pages] == [4, 4, 2]
        names = [(i["namespace"], i["name"]) for p in pages for i in p["items"]]
        assert names == [(i["namespace"], i["name"]) for i in default["items"]]  # same order, no repeats
        for page in pages:
            assert page["total"] == 10
            assert (
                page["by_namespace"]
                == {
                    "billing": {"total": 3, "by_phase": {"Pending": 3}},
                    "shop": {"total": 7, "by_phase": {"Pending": 7}},
                }
                or sum(c["total"] for c in page["by_namespace"].values()) == 10
            )
        # An RR created between two pages is newer: it does not shift the next page.
        first = (await client.call_tool("list_recommendations", {"limit": 4})).structured_content
        assert first is not None
        cluster.apply(_rr("shop", 99))
        second = await client.call_tool("list_recommendations", {"limit": 4, "cursor": first["next_cursor"]})
        assert second.structured_content is not None
        assert [i["name"] for i in second.structured_content["items"]] == [
            i["name"] for i in pages[1]["items"]
        ]
        assert second.structured_content["total"] == 11
        # A cursor belongs to its filters.
        other = await client.call_tool(
            "list_recommendations", {"namespace": "shop", "limit": 4, "cursor": first["next_cursor"]}
        )
        assert other.is_error and "other arguments" in other.content[0].text  # type: ignore[union-attr]
        garbage = await client.call_tool("list_recommendations", {"cursor": "not-a-cursor"})
        assert garbage.is_error and "not one this server gave out" in garbage.content[0].text  # type: ignore[union-attr]


def test_kept_scans_expire_and_are_bounded() -> None:
    from krr_mcp.recommenders import ScanResult
    from mcp_bridge.paging import CursorError, ScanPages

    now = [0.0]
    pages = ScanPages(capacity=2, ttl=60, clock=lambda: now[0])
    first, second = pages.keep(ScanResult(source="native")), pages.keep(ScanResult(source="native"))
    assert pages.get(first).source == "native"
    pages.keep(ScanResult(source="native"))  # the oldest goes
    with pytest.raises(CursorError, match="no longer kept"):
        pages.get(first)
    now[0] = 61
    with pytest.raises(CursorError, match="no longer kept"):
        pages.get(second)
