"""The kopf index the handlers keep of RRs by target: its entries carry everything the supersede
check reads, so deciding from the index equals deciding from a full list of the namespace's RRs."""

from __future__ import annotations

from typing import Any

from krr_operator.handlers import TARGET_INDEX, _siblings, target_index_entry

from krr_mcp.api.resource_recommendation import newer_overlapping

from ..builders import rr


def _index(*bodies: dict[str, Any]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    index: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for body in bodies:
        meta = body["metadata"]
        for key, value in target_index_entry(meta.get("namespace", "default"), meta["name"], body).items():
            index.setdefault(key, []).append(value)
    return index


def test_index_siblings_decide_supersede_like_the_full_list() -> None:
    old = rr("old", created="2026-11-25T10:00:00Z")
    new = rr("new", created="2026-11-25T11:00:00Z")
    elsewhere = rr("elsewhere", target="api", created="2026-11-25T12:00:00Z")
    sidecar = rr(
        "sidecar",
        created="2026-11-25T12:00:00Z",
        containers=[{"name": "sidecar", "current": {}, "proposed": {"requests": {"cpu": "1"}}}],
    )
    rejected = rr("rejected", created="2026-11-25T13:00:00Z", rejected=True)
    everything = [old, new, elsewhere, sidecar, rejected]
    index = _index(*everything)
    for body in everything:
        siblings = _siblings({TARGET_INDEX: index, "namespace": "default", "spec": body["spec"]})
        assert siblings is not None
        assert newer_overlapping(body, siblings) == newer_overlapping(body, everything), body["metadata"]
    assert (
        newer_overlapping(
            old, _siblings({TARGET_INDEX: index, "namespace": "default", "spec": old["spec"]}) or []
        )
        == "new"
    )


def test_unreadable_specs_are_left_out_of_the_index() -> None:
    assert target_index_entry("default", "x", {"metadata": {"name": "x"}, "spec": "approve me"}) == {}
    assert target_index_entry("default", "x", {"metadata": {"name": "x"}, "spec": {"target": 3}}) == {}


def test_without_the_index_the_reconciler_lists_instead() -> None:
    assert (
        _siblings({"namespace": "default", "spec": {"target": {"kind": "Deployment", "name": "web"}}}) is None
    )
