"""The wire protocol, checked with plain HTTP: discovery documents, content negotiation, Tables, watch
streams (resume, 410 Gone, timeouts, bookmarks, selectors), pagination."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from krr_mcp.sandbox.testing import SandboxHandle

from .conftest import rr

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
RR_PATH = "/apis/test.krr-mcp.io/v1alpha1/namespaces/shop/resourcerecommendations"


@pytest.fixture
def http(sb: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.url, timeout=10) as c:
        yield c


def watch_lines(
    http: httpx.Client, path: str, params: dict[str, Any], limit: int = 100
) -> list[dict[str, Any]]:
    events = []
    with http.stream("GET", path, params={"watch": "true", **params}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        for line in response.iter_lines():
            if line:
                events.append(json.loads(line))
            if len(events) >= limit:
                break
    return events


def test_discovery_documents(http: httpx.Client) -> None:
    assert http.get("/api").json()["versions"] == ["v1"]
    core = http.get("/api/v1").json()
    assert core["groupVersion"] == "v1" and core["kind"] == "APIResourceList"
    names = {r["name"]: r for r in core["resources"]}
    assert names["namespaces"]["namespaced"] is False and names["pods"]["shortNames"] == ["po"]
    groups = {g["name"]: g for g in http.get("/apis").json()["groups"]}
    assert groups["test.krr-mcp.io"]["preferredVersion"]["groupVersion"] == "test.krr-mcp.io/v1alpha1"
    assert "apps" in groups and "authentication.k8s.io" in groups
    crd_doc = http.get("/apis/test.krr-mcp.io/v1alpha1").json()
    resources = {r["name"]: r for r in crd_doc["resources"]}
    assert resources["resourcerecommendations"]["shortNames"] == ["rr"]
    assert resources["resourcerecommendations"]["categories"] == ["recommendations"]
    assert "shortNames" not in resources["resourcerecommendations/status"]
    assert "categories" not in resources["resourcerecommendations/status"]
    assert http.get("/version").json()["major"] == "1"


def test_aggregated_discovery_only_is_refused_with_406(http: httpx.Client) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    response = http.get("/apis", headers={"Accept": accept})
    assert response.status_code == 406 and response.json()["reason"] == "NotAcceptable"
    fallback = http.get("/apis", headers={"Accept": accept + ",application/json"})
    assert fallback.status_code == 200 and fallback.json()["kind"] == "APIGroupList"


def test_protobuf_and_cbor_are_refused_clearly(http: httpx.Client) -> None:
    response = http.get("/api/v1/namespaces", headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert response.status_code == 406 and "protobuf" in response.json()["message"]
    for media in ("application/vnd.kubernetes.protobuf", "application/cbor"):
        response = http.post(
            "/api/v1/namespaces/shop/configmaps", content=b"\x00", headers={"Content-Type": media}
        )
        assert response.status_code == 415 and response.json()["reason"] == "UnsupportedMediaType"
    response = http.patch(
        "/apis/apps/v1/namespaces/shop/deployments/web", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


def test_tables_for_builtins_and_custom_resources(http: httpx.Client, sb: SandboxHandle) -> None:
    sb.apply(rr("t1", risk="high"))
    table = http.get(RR_PATH, headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table"
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [("Name", 0), ("Target", 0), ("Approved", 0), ("Phase", 0), ("Risk", 1), ("Age", 0)]
    row = table["rows"][0]
    assert row["cells"][:5] == ["t1", "web", None, None, "high"]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "t1"
    deploy = http.get("/apis/apps/v1/namespaces/shop/deployments/web", headers={"Accept": TABLE}).json()
    assert deploy["rows"][0]["cells"][:4] == ["web", "3/3", 3, 3]


def test_list_pagination_with_limit_and_continue(http: httpx.Client) -> None:
    first = http.get("/api/v1/namespaces", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["metadata"]["continue"]
    rest = http.get(
        "/api/v1/namespaces", params={"limit": 100, "continue": first["metadata"]["continue"]}
    ).json()
    names = [n["metadata"]["name"] for n in first["items"] + rest["items"]]
    assert len(names) == len(set(names)) == 7 and "continue" not in rest["metadata"]


def test_watch_replays_from_a_resource_version_and_times_out(http: httpx.Client, sb: SandboxHandle) -> None:
    start = http.get(RR_PATH).json()["metadata"]["resourceVersion"]
    sb.apply(rr("w1"))
    sb.apply(rr("w2"))
    t0 = time.monotonic()
    events = watch_lines(http, RR_PATH, {"resourceVersion": start, "timeoutSeconds": "1"})
    assert time.monotonic() - t0 < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "w1"),
        ("ADDED", "w2"),
    ]
    latest = events[-1]["object"]["metadata"]["resourceVersion"]
    assert watch_lines(http, RR_PATH, {"resourceVersion": latest, "timeoutSeconds": "1"}) == []


def test_watch_without_resource_version_starts_with_current_objects(
    http: httpx.Client, sb: SandboxHandle
) -> None:
    events = watch_lines(
        http, "/apis/apps/v1/deployments", {"fieldSelector": "metadata.name=web", "timeoutSeconds": "1"}
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "web")]


def test_watch_streams_live_changes_with_selectors_and_bookmarks(tmp_path: Path) -> None:
    handle = SandboxHandle(tmp_path / "kc", seed="default", bookmark_interval=0.2)
    try:
        rv = handle.call(lambda: handle.server.store.rv)
        received: list[dict[str, Any]] = []

        def watch() -> None:
            with httpx.Client(base_url=handle.url, timeout=10) as c:
                received.extend(
                    watch_lines(
                        c,
                        "/api/v1/namespaces/shop/configmaps",
                        {
                            "resourceVersion": str(rv),
                            "labelSelector": "team=a",
                            "fieldSelector": "metadata.namespace=shop",
                            "allowWatchBookmarks": "true",
                            "timeoutSeconds": "3",  # bookmarks stop 2s before the timeout
                        },
                        limit=4,
                    )
                )

        thread = threading.Thread(target=watch)
        thread.start()
        time.sleep(0.3)
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "shop"}}
        handle.apply({**cm, "metadata": {**cm["metadata"], "name": "skip", "labels": {"team": "b"}}})
        handle.apply({**cm, "metadata": {**cm["metadata"], "name": "keep", "labels": {"team": "a"}}})
        with httpx.Client(base_url=handle.url) as c:
            assert c.delete("/api/v1/namespaces/shop/configmaps/keep").status_code == 200
        thread.join(timeout=10)
        kinds = [
            (e["type"], e["object"]["metadata"].get("name")) for e in received if e["type"] != "BOOKMARK"
        ]
        assert kinds == [("ADDED", "keep"), ("DELETED", "keep")]
        assert any(e["type"] == "BOOKMARK" for e in received)
    finally:
        handle.close()


def test_watch_from_a_forgotten_resource_version_is_410_gone(tmp_path: Path) -> None:
    handle = SandboxHandle(tmp_path / "kc", seed="default", history_size=5)
    try:
        for n in range(10):
            handle.apply(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}", "namespace": "shop"}}
            )
        with httpx.Client(base_url=handle.url, timeout=10) as c:
            events = watch_lines(
                c, "/api/v1/namespaces/shop/configmaps", {"resourceVersion": "2", "timeoutSeconds": "1"}
            )
        assert len(events) == 1 and events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    finally:
        handle.close()


def test_reviews_answer_without_enforcing_rbac(http: httpx.Client, sb: SandboxHandle) -> None:
    sb.set_user("bob", ["devs"])
    review = http.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert review.status_code == 201 and review.json()["status"]["userInfo"]["username"] == "bob"
    access = http.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        json={"spec": {"resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": "shop"}}},
    ).json()
    assert access["status"]["allowed"] is True and "does not enforce RBAC" in access["status"]["reason"]
    assert access["spec"]["resourceAttributes"]["verb"] == "delete"
    assert http.get("/apis/authentication.k8s.io/v1/selfsubjectreviews").status_code == 405


def test_objects_entering_and_leaving_a_selector_are_added_and_deleted(
    http: httpx.Client, sb: SandboxHandle
) -> None:
    path = "/api/v1/namespaces/shop/configmaps"
    start = http.get(path).json()["metadata"]["resourceVersion"]
    sb.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "m", "namespace": "shop", "labels": {"t": "b"}},
        }
    )
    merge = {"Content-Type": "application/merge-patch+json"}
    for team in ("a", "a", "b"):  # enters, changes inside, leaves
        patch = {"metadata": {"labels": {"t": team}}, "data": {"team": team, "n": str(time.monotonic())}}
        assert http.patch(f"{path}/m", json=patch, headers=merge).status_code == 200
    events = watch_lines(
        http, path, {"resourceVersion": start, "labelSelector": "t=a", "timeoutSeconds": "1"}
    )
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[-1]["object"]["metadata"]["labels"] == {"t": "b"}
