"""Pure pieces of the sandbox: selectors, patch flavours, managedFields ownership, JSONPath, validation."""

from __future__ import annotations

import pytest

from krr_mcp.sandbox import managedfields as mf
from krr_mcp.sandbox.patching import PatchError, json_patch, merge_patch, strategic_merge
from krr_mcp.sandbox.selectors import SelectorError, field_predicate, label_predicate
from krr_mcp.sandbox.tables import human_age, jsonpath
from krr_mcp.sandbox.validation import validate_custom


def labelled(**labels: str) -> dict:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels}}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "api"}, False),
        ("app!=web", {}, True),
        ("app in (web, api),tier", {"app": "api", "tier": "x"}, True),
        ("app notin (web)", {"app": "web"}, False),
        ("!canary", {"canary": "1"}, False),
        ("env", {}, False),
    ],
)
def test_label_selectors(selector: str, labels: dict, expected: bool) -> None:
    predicate = label_predicate(selector)
    assert predicate is not None and predicate(labelled(**labels)) is expected


def test_bad_selectors_raise() -> None:
    with pytest.raises(SelectorError):
        label_predicate("app in web")
    with pytest.raises(SelectorError):
        field_predicate("metadata.name")


def test_field_selectors() -> None:
    predicate = field_predicate("metadata.name=n,metadata.namespace!=other")
    assert predicate is not None and predicate(labelled())
    assert not predicate({"metadata": {"name": "m", "namespace": "ns"}})


def test_merge_patch_deletes_with_null_and_replaces_lists() -> None:
    doc = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert merge_patch(doc, {"a": {"b": None}, "l": [3]}) == {"a": {"c": 2}, "l": [3]}
    assert doc == {"a": {"b": 1, "c": 2}, "l": [1, 2]}


def test_json_patch_test_failure_leaves_input_alone() -> None:
    doc = {"spec": {"x": 1}}
    with pytest.raises(PatchError) as err:
        json_patch(
            doc,
            [{"op": "replace", "path": "/spec/x", "value": 2}, {"op": "test", "path": "/spec/x", "value": 5}],
        )
    assert err.value.code == 422 and doc == {"spec": {"x": 1}}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "remove", "path": "/spec/missing"}])


def test_strategic_merge_lists_and_directives() -> None:
    pod = {
        "containers": [
            {"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "2"},
        ],
        "finalizers": ["f1"],
    }
    patch = {
        "containers": [
            {"name": "a", "env": [{"name": "Y", "value": "2"}]},
            {"name": "b", "$patch": "delete"},
            {"name": "c", "image": "3"},
        ],
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
        "finalizers": ["f2"],
    }
    merged = strategic_merge(pod, patch)
    assert [c["name"] for c in merged["containers"]] == ["c", "a"]
    assert merged["containers"][1]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert merged["finalizers"] == ["f1", "f2"]
    assert strategic_merge({"a": {"b": 1, "c": 2}}, {"a": {"$patch": "replace", "d": 3}}) == {"a": {"d": 3}}
    assert strategic_merge({"l": ["x", "y"]}, {"$deleteFromPrimitiveList/l": ["x"]}) == {"l": ["y"]}


def test_managed_fields_round_trip_and_ownership_transfer() -> None:
    paths = {("f:spec", "f:approved"), ("f:spec", "f:containers", 'k:{"name":"a"}', "f:image")}
    assert mf.from_fields_v1(mf.to_fields_v1(paths)) == paths
    old = {"metadata": {"name": "x"}, "spec": {"approved": False, "risk": "low"}}
    created = mf.record_update(None, old, "bridge", "", True, "v1", "t")
    # The creator owns the spec map it created ("."), the human only the value it changed.
    assert created[0]["fieldsV1"] == {"f:spec": {".": {}, "f:approved": {}, "f:risk": {}}}
    new = {"metadata": {"name": "x", "managedFields": created}, "spec": {"approved": True, "risk": "low"}}
    entries = mf.record_update(
        {**old, "metadata": {"name": "x", "managedFields": created}}, new, "human", "", True, "v1", "t"
    )
    owners = {e["manager"]: mf.from_fields_v1(e["fieldsV1"]) for e in entries}
    assert owners == {
        "bridge": {("f:spec", "."), ("f:spec", "f:risk")},
        "human": {("f:spec", "f:approved")},
    }


def test_apply_conflicts_and_forced_takeover() -> None:
    live = {
        "metadata": {
            "name": "x",
            "managedFields": [
                {
                    "manager": "human",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "fieldsV1": {"f:spec": {"f:approved": {}}},
                }
            ],
        },
        "spec": {"approved": True},
    }
    config = {"metadata": {"name": "x"}, "spec": {"approved": False}}
    with pytest.raises(mf.ApplyConflict) as err:
        mf.plan_apply(live, config, "bridge", "", True, force=False)
    assert [(e["manager"], path) for e, path in err.value.conflicts] == [("human", ("f:spec", "f:approved"))]
    assert str(err.value) == 'Apply failed with 1 conflict: conflict with "human" using v1: .spec.approved'
    _, owned, _ = mf.plan_apply(live, config, "bridge", "", True, force=True)
    assert owned[("human", "Update", "")] == set() and owned[("bridge", "Apply", "")] == {
        ("f:spec", "f:approved")
    }
    same = {"metadata": {"name": "x"}, "spec": {"approved": True}}  # same value: shared, no conflict
    mf.plan_apply(live, same, "bridge", "", True, force=False)


def test_jsonpath_subset() -> None:
    obj = {
        "status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]},
        "spec": {"c": [{"n": 1}, {"n": 2}]},
    }
    assert jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert jsonpath(obj, ".spec.c[*].n") == [1, 2]
    assert jsonpath(obj, ".spec.c[1].n") == [2]
    assert jsonpath(obj, ".spec.missing") == []


def test_human_age() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 10, tzinfo=UTC)
    assert human_age("2026-01-09T23:59:30Z", now) == "30s"
    assert human_age("2026-01-09T23:55:00Z", now) == "5m"
    assert human_age("2026-01-09T20:00:00Z", now) == "4h"
    assert human_age("2026-01-01T00:00:00Z", now) == "9d"


def test_validation_required_enum_and_pruning() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"type": "string", "enum": ["A", "B"]},
                    "n": {"type": "integer", "minimum": 0},
                },
            }
        },
    }
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"n": -1, "extra": 1}}
    pruned, errors, unknown = validate_custom(obj, schema)
    assert "spec.kind: Required value" in errors and any("spec.n" in e for e in errors)
    assert unknown == ["spec.extra"] and "extra" not in pruned["spec"] and pruned["metadata"] == {"name": "x"}
    _, errors, _ = validate_custom({"spec": {"kind": "C"}}, schema)
    assert errors == ['spec.kind: Unsupported value: "C": supported values: "A", "B"']
