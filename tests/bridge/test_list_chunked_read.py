"""list_recommendations reads the RRs in chunks on the sandbox too (which serves `limit`/`continue` as
kube-apiserver does, tests/realcluster/test_parity_list_chunks.py): one consistent read, so an RR deleted
or created between two chunks is listed as it was at the first chunk's resourceVersion."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

import mcp_bridge.cluster
from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION
from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.bridge import Bridge
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.tools.views import list_recommendations_view

from .test_paging import paged_rr


def test_the_chunks_are_one_read(
    cluster: SandboxHandle, settings: BridgeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.apply(*(paged_rr("shop", i) for i in range(7)))
    monkeypatch.setattr(mcp_bridge.cluster, "LIST_CHUNK", 3)
    bridge = Bridge.connect(settings)
    chunks = bridge.cluster.recommendation_chunks
    sizes: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        for items, version in chunks(*args, **kwargs):
            sizes.append(len(items))
            if len(sizes) == 1:  # between the first chunk and the next: one RR gone, one new
                with cluster.api_client() as api:
                    client.CustomObjectsApi(api).delete_namespaced_custom_object(
                        GROUP, VERSION, "shop", PLURAL, "web-deploy-005"
                    )
                cluster.apply(paged_rr("shop", 99))
            yield items, version

    monkeypatch.setattr(bridge.cluster, "recommendation_chunks", counted)
    listing = list_recommendations_view(bridge, "shop", None, None, None, 50)
    assert sizes == [3, 3, 1], "three requests of at most 3 RRs"
    assert sorted(i.name for i in listing.items) == [f"web-deploy-{i:03d}" for i in range(7)]
    fresh = list_recommendations_view(bridge, "shop", None, None, None, 50)
    names = {i.name for i in fresh.items}
    assert "web-deploy-099" in names and "web-deploy-005" not in names
