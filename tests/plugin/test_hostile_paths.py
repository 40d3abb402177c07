"""Issue 15 item 14: the plugin and the bridge build every API path with the client's validating path
builder, so a name from the command line or from an RR field (`../../api/v1/...`) is refused before any
request. The client points at a port nothing listens on: a request sent would fail differently."""

from __future__ import annotations

import pytest
from kubernetes import client

from krr_mcp.kube.client import InvalidRequest
from krr_mcp.kubectl_plugin import kube
from krr_mcp.kubectl_plugin.errors import Refused
from mcp_bridge.bridge import Bridge
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.tools.views import read_events

HOSTILE = ["../../api/v1/namespaces/kube-system/secrets", "web/../other", "web%2F..", "a?watch=1", "Web", ""]


def nowhere() -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard port: nothing answers
    return client.ApiClient(configuration)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_plugin_refuses_a_hostile_name_before_any_request(name: str) -> None:
    conn = kube.Connection(nowhere(), "shop", None)
    for call in (
        lambda: kube.get_workload(conn, "shop", "Deployment", name),  # the target of an RR being diffed
        lambda: kube.get_rr(conn, "shop", name),
        lambda: kube.merge_patch_rr(conn, "shop", name, {"spec": {"rejected": True}}),
        lambda: kube.get_rr(conn, name or "-", "web-rr"),
    ):
        with pytest.raises(Refused, match="refusing to build an API path"):
            call()


@pytest.mark.parametrize("namespace", ["../kube-system", "shop/../kube-system", "Shop"])
def test_the_bridge_refuses_a_hostile_namespace_before_any_request(namespace: str) -> None:
    bridge = Bridge.connect(BridgeSettings(), nowhere())
    with pytest.raises(InvalidRequest):
        bridge.policy_for(namespace)
    with pytest.raises(InvalidRequest):
        read_events(bridge, namespace)
