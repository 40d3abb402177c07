"""The bridge handles the client's typed errors (krr_mcp.kube.client), never an HTTP status: a missing
object or an unserved kind is None or [], an Events list the bridge's identity may not read is a note,
and every other failure is one sentence naming what was asked, with the API server's own words."""

from __future__ import annotations

from typing import Any

import pytest

from krr_mcp.kube.client import Forbidden, Invalid, NotFound, error_for
from mcp_bridge.bridge import Bridge
from mcp_bridge.cluster import ClusterError
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.tools.views import read_events

from ..plugin.test_hostile_paths import nowhere


def answering(status: int, words: str = "the server's words") -> Bridge:
    """A bridge whose every API call fails with `status` (the client's typed error for it)."""
    bridge = Bridge.connect(BridgeSettings(), nowhere())

    def request(what: str, *args: Any, **kwargs: Any) -> Any:
        raise error_for(f"{what}: {status} {words}", status, "Reason", words)

    bridge.cluster.kube.request = request  # type: ignore[method-assign]
    return bridge


def test_a_missing_object_or_an_unserved_kind_is_none_or_empty() -> None:
    bridge = answering(404)
    assert bridge.cluster.get_optional("the cluster policy", "/apis/x/v1/things/default") is None
    assert bridge.cluster.list_in_namespace("HPAs in shop", "/apis/x/v1/namespaces/shop/things") == []
    with pytest.raises(ClusterError) as caught:
        bridge.cluster.read_workload("shop", "Deployment", "web")
    assert isinstance(caught.value.error, NotFound) and str(caught.value) == "Deployment shop/web not found"


def test_events_the_bridge_may_not_list_are_a_note_not_a_failure() -> None:
    assert read_events(answering(403), "shop") == (
        [],
        "Kubernetes Events are not included: the bridge's identity may not list them.",
    )
    with pytest.raises(ClusterError) as caught:  # any other failure still fails, worded
        read_events(answering(422), "shop")
    assert isinstance(caught.value.error, Invalid)
    assert str(caught.value) == "the API server refused Events in shop: the server's words"


@pytest.mark.parametrize(
    ("status", "kind", "sentence"),
    [
        (
            403,
            Forbidden,
            "the bridge's identity is not allowed to access Deployment shop/web: the server's words",
        ),
        (409, None, "conflict on Deployment shop/web: the server's words"),
        (500, None, "the API server answered 500 for Deployment shop/web: the server's words"),
    ],
)
def test_a_failure_is_one_sentence_with_the_servers_words(status: int, kind: Any, sentence: str) -> None:
    with pytest.raises(ClusterError) as caught:
        answering(status).cluster.read_workload("shop", "Deployment", "web")
    assert str(caught.value) == sentence
    assert not hasattr(caught.value, "status")
    if kind is not None:
        assert isinstance(caught.value.error, kind)
