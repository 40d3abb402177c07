"""Chunked lists (`limit`/`continue`) as kube-apiserver serves them: every chunk from the first one's
snapshot, opaque tokens of kube-apiserver's own shape, 410 Expired once the history that snapshot needs is
gone, 400 for a token a client made up. (What both servers answer alike: tests/realcluster/
test_parity_list_chunks.py.)"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from krr_mcp.api import project_crds
from krr_mcp.sandbox.testing import SandboxHandle

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def short_history(tmp_path: Path) -> Iterator[SandboxHandle]:
    """A sandbox that remembers only its last 20 writes."""
    handle = SandboxHandle(tmp_path / "kubeconfig", crds=project_crds(), history_size=20)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def http(short_history: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=short_history.url, timeout=10) as c:
        yield c


def _configmaps(http: httpx.Client, *names: str) -> None:
    for name in names:
        assert http.post(CONFIGMAPS, json={"metadata": {"name": name}}).status_code == 201


def _decoded(token: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))


def test_the_next_chunks_show_the_list_as_it_was_at_the_first(http: httpx.Client) -> None:
    _configmaps(http, "a", "b", "c", "d", "e")
    first = http.get(CONFIGMAPS, params={"limit": 2}).json()
    token, rv = first["metadata"]["continue"], first["metadata"]["resourceVersion"]
    assert _decoded(token) == {"v": "meta.k8s.io/v1", "rv": int(rv), "start": "/b\x00"}
    kept = http.get(f"{CONFIGMAPS}/c").json()
    assert http.delete(f"{CONFIGMAPS}/c").status_code == 200  # after the first chunk: still in the list
    _configmaps(http, "bb")  # created after the first chunk: not in it
    changed = {"metadata": {"labels": {"changed": "yes"}}}
    patched = http.patch(f"{CONFIGMAPS}/d", json=changed,
                         headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert patched.status_code == 200
    second = http.get(CONFIGMAPS, params={"limit": 2, "continue": token}).json()
    assert second["metadata"]["resourceVersion"] == rv and second["metadata"]["remainingItemCount"] == 1
    assert second["items"] == [kept, *second["items"][1:]]
    assert [o["metadata"]["name"] for o in second["items"]] == ["c", "d"]
    assert "labels" not in second["items"][1]["metadata"]  # d as it was
    third = http.get(CONFIGMAPS, params={"limit": 2, "continue": second["metadata"]["continue"]}).json()
    assert [o["metadata"]["name"] for o in third["items"]] == ["e"]
    assert third["metadata"] == {"resourceVersion": rv}
    now = http.get(CONFIGMAPS).json()
    assert [o["metadata"]["name"] for o in now["items"]] == ["a", "b", "bb", "d", "e"]


def test_a_chunk_whose_snapshot_left_the_history_is_410_expired(http: httpx.Client) -> None:
    _configmaps(http, "a", "b", "c")
    token = http.get(CONFIGMAPS, params={"limit": 1}).json()["metadata"]["continue"]
    assert http.get(CONFIGMAPS, params={"limit": 1, "continue": token}).status_code == 200
    _configmaps(http, *(f"n{i}" for i in range(25)))  # the history (20 writes) moves past the snapshot
    expired = http.get(CONFIGMAPS, params={"limit": 1, "continue": token})
    assert expired.status_code == 410
    assert expired.json()["reason"] == "Expired"
    assert expired.json()["message"].startswith("The provided continue parameter is too old")


def test_an_offset_is_not_a_token(http: httpx.Client) -> None:
    _configmaps(http, "a", "b", "c")
    answer = http.get(CONFIGMAPS, params={"limit": 1, "continue": "1"})
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "invalid continue token: continue key is not valid: illegal base64 data at input byte 0"
    )


def test_a_token_cannot_climb_out_of_its_list(http: httpx.Client) -> None:
    """A start key with `..` is refused (kube-apiserver's path.Clean check), never resolved."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": 2, "start": "/../kube-system/x"}).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    answer = http.get(CONFIGMAPS, params={"limit": 1, "continue": token})
    assert answer.status_code == 400 and answer.json()["reason"] == "BadRequest"
