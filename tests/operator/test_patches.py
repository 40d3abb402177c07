"""JSON patches: test ops guard the exact object, only cpu/memory keys of named containers change."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import jsonpatch
import pytest

from krr_mcp.api.resource_recommendation import ContainerChange, SafetyReport
from krr_mcp.core.decisions import DecisionInputs, decide
from krr_mcp.core.patches import PatchError, json_patch
from krr_mcp.core.workloads import UnknownKind, containers_pointer

from ..builders import rr, workload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ORIGINAL = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}


def _diff_paths(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    return {op["path"] for op in jsonpatch.make_patch(a, b).patch}


@pytest.mark.parametrize(
    ("kind", "pointer"),
    [
        ("Deployment", "/spec/template/spec/containers"),
        ("StatefulSet", "/spec/template/spec/containers"),
        ("DaemonSet", "/spec/template/spec/containers"),
        ("CronJob", "/spec/jobTemplate/spec/template/spec/containers"),
    ],
)
def test_apply_patch_per_kind_touches_only_named_resource_keys(kind: str, pointer: str) -> None:
    assert containers_pointer(kind) == pointer
    live = workload(
        kind,
        containers={"side": {"requests": {"cpu": "50m"}}, "app": ORIGINAL},
        init_containers={"app": ORIGINAL},
    )
    decision = decide(
        DecisionInputs(rr(kind=kind, approved=True), live, NOW, safety=SafetyReport(allowed=True, risk="low"))
    )
    patch = json_patch(kind, live, decision.changes)
    assert patch[0] == {"op": "test", "path": f"{pointer}/1/name", "value": "app"}
    assert patch[1] == {"op": "test", "path": f"{pointer}/1/resources", "value": ORIGINAL}
    patched = jsonpatch.apply_patch(live, patch)
    assert _diff_paths(live, patched) == {
        f"{pointer}/1/resources/requests/cpu",
        f"{pointer}/1/resources/requests/memory",
        f"{pointer}/1/resources/limits/memory",
    }
    app = patched
    for key in pointer.strip("/").split("/"):
        app = app[key]
    assert app[1]["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"memory": "1Gi"},
    }
    assert live == workload(
        kind,
        containers={"side": {"requests": {"cpu": "50m"}}, "app": ORIGINAL},
        init_containers={"app": ORIGINAL},
    )


def test_apply_then_rollback_restores_the_object_exactly() -> None:
    original = {"requests": {"cpu": "1", "ephemeral-storage": "1Gi"}}
    live = workload(containers={"app": original})
    after = {
        "requests": {"cpu": "250m", "ephemeral-storage": "1Gi", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }
    applied = jsonpatch.apply_patch(
        live, json_patch("Deployment", live, [ContainerChange(name="app", before=original, after=after)])
    )
    assert applied["spec"]["template"]["spec"]["containers"][0]["resources"] == after
    back = jsonpatch.apply_patch(
        applied,
        json_patch("Deployment", applied, [ContainerChange(name="app", before=after, after=original)]),
    )
    assert back == live


def test_a_concurrent_edit_makes_the_patch_fail() -> None:
    live = workload()
    patch = json_patch(
        "Deployment", live, [ContainerChange(name="app", before=ORIGINAL, after={"requests": {"cpu": "2"}})]
    )
    edited = copy.deepcopy(live)
    edited["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "9"
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(edited, patch)
    reordered = copy.deepcopy(live)
    containers = reordered["spec"]["template"]["spec"]["containers"]
    containers.insert(0, {"name": "new-first", "image": "x"})
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(reordered, patch)


def test_patch_refuses_a_snapshot_that_is_not_the_live_object() -> None:
    live = workload()
    with pytest.raises(PatchError, match="differ"):
        json_patch(
            "Deployment", live, [ContainerChange(name="app", before={"requests": {"cpu": "1"}}, after={})]
        )
    with pytest.raises(PatchError, match="not in"):
        json_patch("Deployment", live, [ContainerChange(name="ghost", before={}, after={})])
    with pytest.raises(UnknownKind):
        json_patch("ReplicaSet", live, [ContainerChange(name="app", before=ORIGINAL, after={})])


def test_container_without_resources_gets_them_added() -> None:
    live = workload(containers={"app": {}})
    del live["spec"]["template"]["spec"]["containers"][0]["resources"]
    patch = json_patch(
        "Deployment", live, [ContainerChange(name="app", before={}, after={"requests": {"cpu": "1"}})]
    )
    assert [op for op in patch if op["op"] != "test"] == [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/resources",
            "value": {"requests": {"cpu": "1"}},
        }
    ]


def test_keys_with_slashes_are_escaped() -> None:
    live = workload(containers={"app": {"limits": {"nvidia.com/gpu": "1", "cpu": "1"}}})
    after = {"limits": {"cpu": "2"}}
    patch = json_patch(
        "Deployment",
        live,
        [ContainerChange(name="app", before={"limits": {"nvidia.com/gpu": "1", "cpu": "1"}}, after=after)],
    )
    assert {
        "op": "remove",
        "path": "/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu",
    } in patch
    assert (
        jsonpatch.apply_patch(live, patch)["spec"]["template"]["spec"]["containers"][0]["resources"] == after
    )
