"""Pages of list_recommendations and scan_recommendations: a cursor per page, totals on every page."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import change, manifest, resources, rr

# rr() fields of the RRs listed here: proposed by the bridge, not yet approved
PAGED: dict[str, Any] = {
    "containers": [change("web", resources("1", "1Gi"), resources("500m", "512Mi"))],
    "evidence": {"source": "native"},
    "reason": "paging test",
    "approved": None,
    "target_labels": True,
}


def paged_rr(namespace: str, index: int, target: str = "web") -> dict[str, Any]:
    """The stored manifest of the bridge's `index`th proposal for Deployment `target` in `namespace`."""
    return manifest(rr(f"{target}-deploy-{index:03d}", namespace=namespace, target=target, **PAGED))


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
    cluster.apply(
        *(paged_rr("shop", i) for i in range(7)),
        *(paged_rr("billing", i, "api") for i in range(3)),
    )
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
        # A next page is served from the first page's read, and says so: an RR created in between is
        # neither on it nor in its totals, and its as_of is the first page's.
        first = (await client.call_tool("list_recommendations", {"limit": 4})).structured_content
        assert first is not None
        cluster.apply(paged_rr("shop", 99))
        second = await client.call_tool("list_recommendations", {"limit": 4, "cursor": first["next_cursor"]})
        assert second.structured_content is not None
        assert [i["name"] for i in second.structured_content["items"]] == [
            i["name"] for i in pages[1]["items"]
        ]
        assert second.structured_content["total"] == 10
        assert second.structured_content["as_of"] == first["as_of"]
        assert f"As read at {first['as_of']}" in second.content[0].text  # type: ignore[union-attr]
        fresh = (await client.call_tool("list_recommendations", {"limit": 4})).structured_content
        assert fresh is not None and fresh["total"] == 11 and fresh["as_of"] >= first["as_of"]
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


def test_a_next_page_after_the_read_expired_is_read_again_and_says_when(cluster: SandboxHandle) -> None:
    from mcp_bridge.bridge import Bridge
    from mcp_bridge.paging import KeptResults
    from mcp_bridge.settings import BridgeSettings
    from mcp_bridge.tools.views import list_recommendations_view

    cluster.apply(*(paged_rr("shop", i) for i in range(7)))
    now = [0.0]
    bridge = Bridge.connect(BridgeSettings(kubeconfig=str(cluster.kubeconfig)))
    bridge.listings = KeptResults("listing", 4, 60, clock=lambda: now[0])

    def page(cursor: str | None) -> Any:
        return list_recommendations_view(bridge, "shop", None, None, None, 3, cursor)

    first = page(None)
    cluster.apply(paged_rr("shop", 99))  # newer than every RR listed: it does not shift the next page
    kept = page(first.next_cursor)
    assert (kept.total, kept.as_of) == (7, first.as_of)
    now[0] = 61  # the read is no longer kept: the next page is read again, and its as_of says so
    again = page(first.next_cursor)
    assert again.total == 8 and again.as_of >= first.as_of
    assert [i.name for i in again.items] == [i.name for i in kept.items]
    # A cursor whose read belongs to other filters is not served from it.
    other = list_recommendations_view(bridge, None, None, None, None, 3, None)
    assert other.total >= 8 and page(first.next_cursor).total == 8
