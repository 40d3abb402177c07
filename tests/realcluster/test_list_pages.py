"""list_recommendations on a real API server, which honours `limit` and `continue` (as the sandbox does):
the bridge reads the RRs in chunks, and the chunks are one consistent read (an RR created between two
chunks is in none of them, as the API server serves the continuation from the first chunk's
resourceVersion); the answer says which read it is (as_of, resource_version)."""

from __future__ import annotations

from typing import Any

import pytest

import mcp_bridge.cluster
from mcp_bridge.bridge import Bridge
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.tools.views import list_recommendations_view

from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(300)]

NAMESPACE = "paging-apps"
RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}}


def recommendation(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {"name": f"web-{index:02d}", "namespace": NAMESPACE},
        "spec": {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"web-{index:02d}"},
            "containers": [
                {
                    "name": "app",
                    "current": RESOURCES,
                    "proposed": {"requests": {"cpu": "250m", "memory": "256Mi"}},
                }
            ],
            "evidence": {"source": "native"},
            "reason": "paging on a real API server",
        },
    }


def test_the_listing_is_read_in_chunks_of_one_consistent_read(
    real_cluster: RealCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    real_cluster.apply(*(recommendation(i) for i in range(7)))
    monkeypatch.setattr(mcp_bridge.cluster, "LIST_CHUNK", 3)
    bridge = Bridge.connect(BridgeSettings(kubeconfig=str(real_cluster.kubeconfig_for("krr-mcp-bridge"))))
    chunks = bridge.cluster.recommendation_chunks
    sizes: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        for items, version in chunks(*args, **kwargs):
            sizes.append(len(items))
            if len(sizes) == 1:  # between the first chunk and the next: a new RR
                real_cluster.apply(recommendation(99))
            yield items, version

    monkeypatch.setattr(bridge.cluster, "recommendation_chunks", counted)
    first = list_recommendations_view(bridge, NAMESPACE, None, None, None, 5)
    assert sizes == [3, 3, 1], "three requests of at most 3 RRs"
    assert first.total == 7 and "web-99" not in [i.name for i in first.items], "one consistent read"
    assert first.resource_version.isdigit()
    rest = list_recommendations_view(bridge, NAMESPACE, None, None, None, 5, first.next_cursor)
    assert sizes == [3, 3, 1], "the next page is served from the same read"
    assert {i.name for i in first.items + rest.items} == {f"web-{i:02d}" for i in range(7)}
    assert (rest.as_of, rest.resource_version) == (first.as_of, first.resource_version)
    fresh = list_recommendations_view(bridge, NAMESPACE, None, None, None, 5)
    assert fresh.total == 8 and int(fresh.resource_version) > int(first.resource_version)
