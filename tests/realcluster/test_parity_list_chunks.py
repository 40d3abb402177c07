"""Parity of chunked lists (`limit`/`continue`), one test body against the sandbox and the real control
plane: the chunks of one list are its first chunk's snapshot, the metadata (`continue`,
`remainingItemCount`, `resourceVersion`) and the token's shape are kube-apiserver's, and a bad request gets
its status and words. Kube.list_chunks and the bridge's list_recommendations rely on these.

Run: `./uvw run pytest tests/realcluster/test_parity_list_chunks.py -q`."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from .servers import MERGE_PATCH, ApiServer
from .test_parity import RR_API, create_rr, proposal, rr_path, rrs, status_of

pytestmark = pytest.mark.timeout(300)

INVALID = "invalid continue token: continue key is not valid"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def token(**content: Any) -> str:
    """A continue token as kube-apiserver encodes one (base64url without padding of its JSON)."""
    raw = json.dumps(content, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decoded(text: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))


def names(answer: dict[str, Any]) -> list[str]:
    return [o["metadata"]["name"] for o in answer["items"]]


def test_the_chunks_of_a_list_are_its_first_chunks_snapshot(api_server: ApiServer, ns: str) -> None:
    created = {
        name: create_rr(api_server, ns, name) for name in ("web-0", "web-1", "web-2", "web-3", "web-4")
    }
    first = api_server.ok("GET", rrs(ns), params={"limit": "2"})
    rv = first["metadata"]["resourceVersion"]
    assert names(first) == ["web-0", "web-1"] and first["metadata"]["remainingItemCount"] == 3
    assert decoded(first["metadata"]["continue"]) == {
        "v": "meta.k8s.io/v1",
        "rv": int(rv),
        "start": "/web-1\x00",
    }
    api_server.ok("DELETE", rr_path(ns, "web-3"))
    create_rr(api_server, ns, "web-25")
    api_server.ok(
        "PATCH", rr_path(ns, "web-4"), {"metadata": {"labels": {"x": "y"}}}, content_type=MERGE_PATCH
    )
    second = api_server.ok("GET", rrs(ns), params={"limit": "2", "continue": first["metadata"]["continue"]})
    assert names(second) == ["web-2", "web-3"]  # web-3 deleted since, web-25 created since: as at rv
    assert (
        second["items"][1]["metadata"]["resourceVersion"] == created["web-3"]["metadata"]["resourceVersion"]
    )
    assert second["metadata"]["resourceVersion"] == rv and second["metadata"]["remainingItemCount"] == 1
    last = api_server.ok("GET", rrs(ns), params={"limit": "2", "continue": second["metadata"]["continue"]})
    assert names(last) == ["web-4"] and "labels" not in last["items"][0]["metadata"]
    assert last["metadata"] == {"resourceVersion": rv, "continue": ""}  # a custom resource's list: "" kept
    assert names(api_server.ok("GET", rrs(ns))) == ["web-0", "web-1", "web-2", "web-25", "web-4"]


def test_a_list_across_namespaces_with_a_selector(api_server: ApiServer, ns: str) -> None:
    """The start key names the namespace; with a selector the remaining count is not given."""
    for name in ("web-0", "web-1", "web-2"):
        body = proposal(ns, name)
        body["metadata"]["labels"] = {"chunks": ns}
        api_server.ok("POST", rrs(ns), body)
    params = {"limit": "2", "labelSelector": f"chunks={ns}"}
    first = api_server.ok("GET", f"{RR_API}/resourcerecommendations", params=params)
    assert names(first) == ["web-0", "web-1"] and "remainingItemCount" not in first["metadata"]
    assert decoded(first["metadata"]["continue"])["start"] == f"/{ns}/web-1\x00"
    rest = api_server.ok(
        "GET",
        f"{RR_API}/resourcerecommendations",
        params={**params, "continue": first["metadata"]["continue"]},
    )
    assert names(rest) == ["web-2"] and rest["metadata"]["continue"] == ""


def test_a_table_chunk_carries_the_continue_token_and_the_count(api_server: ApiServer, ns: str) -> None:
    for name in ("web-0", "web-1", "web-2"):
        create_rr(api_server, ns, name)
    answer = api_server.http.get(rrs(ns), params={"limit": "1"}, headers={"Accept": TABLE})
    meta = answer.json()["metadata"]
    assert answer.status_code == 200 and meta["remainingItemCount"] == 2
    assert decoded(meta["continue"])["start"] == "/web-0\x00"


def test_no_limit_zero_or_negative_is_the_whole_list(api_server: ApiServer, ns: str) -> None:
    for name in ("web-0", "web-1"):
        create_rr(api_server, ns, name)
    for limit in ("0", "-1"):
        answer = api_server.ok("GET", rrs(ns), params={"limit": limit})
        assert names(answer) == ["web-0", "web-1"] and answer["metadata"]["continue"] == ""
    bad = api_server.request("GET", rrs(ns), params={"limit": "x"})
    assert bad.status_code == 400
    assert status_of(bad)["message"] == 'strconv.ParseInt: parsing "x": invalid syntax'


PADDED = token(v="meta.k8s.io/v1", rv=5, start="/web-0")


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("2", f"{INVALID}: illegal base64 data at input byte 0"),  # an offset, as the sandbox once gave
        ("ab+d", f"{INVALID}: illegal base64 data at input byte 2"),
        (PADDED + "=", f"{INVALID}: illegal base64 data at input byte {len(PADDED)}"),
        (token(v="foo", rv=1, start="x"), f"{INVALID}: server does not recognize this encoded version foo"),
        (token(v="meta.k8s.io/v1", rv=1, start=""),
         f"{INVALID}: encoded start key empty (version meta.k8s.io/v1)"),
        (token(v="meta.k8s.io/v1", rv=0, start="x"),
         f"{INVALID}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
        (token(v="meta.k8s.io/v1", rv=5, start="/a/../b"), f"{INVALID}: /a/../b"),  # no way out of the list
        ("garbage", INVALID + ": "),  # the JSON parser's own words differ (Go's, Python's)
    ],
    ids=["offset", "not-base64url", "padded", "version", "no-start", "rv-0", "dot-dot", "not-json"],
)  # fmt: skip
def test_a_malformed_continue_token_is_400(api_server: ApiServer, ns: str, sent: str, message: str) -> None:
    create_rr(api_server, ns)
    answer = api_server.request("GET", rrs(ns), params={"limit": "1", "continue": sent})
    assert answer.status_code == 400
    status = status_of(answer)
    assert status["reason"] == "BadRequest" and status["code"] == 400
    assert (
        status["message"] == message if not message.endswith(": ") else status["message"].startswith(message)
    )


def test_continue_with_a_resource_version(api_server: ApiServer, ns: str) -> None:
    for name in ("web-0", "web-1"):
        create_rr(api_server, ns, name)
    cont = api_server.ok("GET", rrs(ns), params={"limit": "1"})["metadata"]["continue"]
    refused = api_server.request(
        "GET", rrs(ns), params={"limit": "1", "continue": cont, "resourceVersion": "1"}
    )
    assert refused.status_code == 400
    assert status_of(refused)["message"] == "specifying resource version is not allowed when using continue"
    allowed = api_server.ok("GET", rrs(ns), params={"limit": "1", "continue": cont, "resourceVersion": "0"})
    assert names(allowed) == ["web-1"]


def test_a_token_from_the_future_is_504_too_large(api_server: ApiServer, ns: str) -> None:
    create_rr(api_server, ns)
    answer = api_server.request(
        "GET", rrs(ns), params={"limit": "1", "continue": token(v="meta.k8s.io/v1", rv=99999999, start="/a")}
    )
    assert answer.status_code == 504
    status = status_of(answer)
    assert re.fullmatch(r"Timeout: Too large resource version: 99999999, current: \d+", status["message"])
    assert status["reason"] == "Timeout"
    assert status["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
