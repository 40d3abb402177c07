"""Property test: any interleaving of approvals, rollbacks, human edits, rollouts and crashes (at the
write-ahead snapshot, after the patch, or a failed status write) keeps the operator's promises:

- the workload never changes before approval;
- a change made by the operator always has its snapshot stored (Pending or Succeeded) first;
- an approved change is applied at most once;
- a human's edit is never overwritten;
- after a requested rollback settles, the workload equals the original exactly.

The API server here is an in-memory stand-in with the semantics the operator relies on (JSON patch
`test` ops, resourceVersion preconditions on status writes, merge patch of status); the same steps
run over HTTP against the sandbox in test_operator_sandbox.py.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonpatch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from krr_operator.reconcile import Reconciler

from krr_mcp.core.workloads import same_cpu_memory
from krr_mcp.kube.client import Conflict, Invalid, KubeError, ServerError
from krr_mcp.sandbox.patching import merge_patch as merge

from ..builders import settings_without_admission

ORIGINAL = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
PROPOSED = {"requests": {"cpu": "400m", "memory": "448Mi"}, "limits": {"memory": "896Mi"}}
HUMAN = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi", "cpu": "3"}}


class Crash(BaseException):
    pass


class MemoryApi:
    """The operator's `Kube` surface over two objects in memory."""

    field_manager = "krr-mcp-operator"

    def __init__(self) -> None:
        self.version = 1
        self.workload: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "uid": "web-uid-1",
                "generation": 1,
                "resourceVersion": "1",
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "spec": {
                        "containers": [{"name": "app", "image": "x", "resources": copy.deepcopy(ORIGINAL)}]
                    }
                },
            },
            "status": {
                "observedGeneration": 1,
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
            },
        }
        self.rr: dict[str, Any] = {
            "apiVersion": "krr-mcp.io/v1alpha1",
            "kind": "ResourceRecommendation",
            "metadata": {
                "name": "rr",
                "namespace": "default",
                "generation": 1,
                "resourceVersion": "1",
                "creationTimestamp": "2026-11-25T10:00:00Z",
            },
            "spec": {
                "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "containers": [{"name": "app", "current": ORIGINAL, "proposed": PROPOSED}],
                "evidence": {"source": "manual"},
                "reason": "property test",
                "approved": False,
                "rolloutTimeoutSeconds": 600,
            },
        }
        self.fail_next_status_write = False
        self.operator_patches = 0

    def _bump(self, obj: dict[str, Any], spec_changed: bool) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        if spec_changed:
            obj["metadata"]["generation"] += 1

    def get_rr(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.rr)

    def list_rrs(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.rr)]

    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.workload)

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        return []

    def patch_workload(
        self, namespace: str, kind: str, name: str, patch: list[dict[str, Any]], *, dry_run: bool = False
    ) -> dict[str, Any]:
        try:
            patched = jsonpatch.apply_patch(self.workload, patch)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise Invalid(f"test failed: {exc}", 422) from None
        if not dry_run:
            self.workload = patched
            self._bump(self.workload, True)
            self.operator_patches += 1
        return copy.deepcopy(patched)

    def patch_rr_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str | None = None
    ) -> dict[str, Any]:
        if self.fail_next_status_write:
            self.fail_next_status_write = False
            raise ServerError("status write failed: 503", 503)
        if resource_version and resource_version != self.rr["metadata"]["resourceVersion"]:
            raise Conflict("conflict", 409)
        self.rr["status"] = merge(self.rr.get("status") or {}, status)
        self._bump(self.rr, False)
        return copy.deepcopy(self.rr)

    def request(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        assert (method, path.rsplit("/", 1)[-1]) == ("POST", "events"), (method, path)
        return {}  # an Event, forgotten

    def get_optional(self, what: str, path: str) -> dict[str, Any] | None:
        """The namespace exists; no policy does (the built-in defaults)."""
        name = path.rsplit("/", 1)[-1]
        return {"metadata": {"name": name}} if path == f"/api/v1/namespaces/{name}" else None

    def list_items(self, what: str, path: str) -> list[dict[str, Any]]:
        return []  # no LimitRange, quota, HPA or PDB

    # -- the world outside the operator ------------------------------------------------------------
    def human_spec(self, **fields: Any) -> None:
        self.rr["spec"].update(fields)
        self._bump(self.rr, True)

    def human_edit_workload(self) -> None:
        self.workload["spec"]["template"]["spec"]["containers"][0]["resources"] = copy.deepcopy(HUMAN)
        self._bump(self.workload, True)

    def controller(self, fail: bool) -> None:
        status = self.workload["status"]
        status["observedGeneration"] = self.workload["metadata"]["generation"]
        if fail:
            status["updatedReplicas"] = 0
            status["conditions"] = [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            ]
        else:
            status.update(updatedReplicas=1, readyReplicas=1, availableReplicas=1, conditions=[])

    def app_resources(self) -> dict[str, Any]:
        return self.workload["spec"]["template"]["spec"]["containers"][0]["resources"]


STEPS = st.sampled_from(
    [
        "reconcile",
        "reconcile",
        "reconcile",
        "crash-after-snapshot",
        "crash-after-patch",
        "status-write-fails",
        "approve",
        "rollback",
        "rollback",
        "human-edit",
        "rollout-ok",
        "rollout-fails",
        "time-passes",
    ]
)


def reconcile(api: MemoryApi, now: datetime, crash_at: str | None = None) -> None:
    def hook(stage: str, rr: dict[str, Any]) -> None:
        if stage == crash_at:
            raise Crash(stage)

    settings_ = settings_without_admission(hook=hook, now=lambda: now)
    # A crash is a dead operator, a KubeError one kopf would retry: either way the next call restarts.
    with contextlib.suppress(Crash, KubeError):
        Reconciler(api, settings_).reconcile("default", "rr")  # type: ignore[arg-type]


def check_invariants(api: MemoryApi, edited: bool) -> None:
    history = (api.rr.get("status") or {}).get("history") or []
    succeeded_applies = [h for h in history if h["action"] == "apply" and h["outcome"] == "Succeeded"]
    assert len(succeeded_applies) <= 1, history
    live = api.app_resources()
    if not api.rr["spec"].get("approved") and not edited:
        assert live == ORIGINAL
    if not edited and not same_cpu_memory(live, ORIGINAL):
        # Changed by the operator: its snapshot of the original must be stored.
        snapshots = [
            h for h in history if h["action"] == "apply" and h["outcome"] in ("Pending", "Succeeded")
        ]
        assert snapshots and snapshots[-1]["containers"][0]["before"] == ORIGINAL, history
    if edited:
        assert live["limits"].get("cpu") == "3", "a human's edit was overwritten"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([True, True, True, False]), st.lists(STEPS, min_size=1, max_size=14))
def test_any_interleaving_keeps_the_promises(approve_first: bool, steps: list[str]) -> None:
    api = MemoryApi()
    if approve_first:
        steps = ["approve", *steps]
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    edited = False
    for step in steps:
        if step == "approve" and not api.rr["spec"]["approved"]:
            api.human_spec(approved=True, approvedBy="alice")
        elif step == "rollback" and api.rr["spec"]["approved"]:
            api.human_spec(rollbackRequested=True)
        elif step == "human-edit" and not edited:
            api.human_edit_workload()
            edited = True
        elif step in ("rollout-ok", "rollout-fails"):
            api.controller(fail=step == "rollout-fails")
        elif step == "time-passes":
            now += timedelta(seconds=700)
        elif step == "status-write-fails":
            api.fail_next_status_write = True
            reconcile(api, now)
        elif step.startswith("crash-"):
            reconcile(
                api,
                now,
                crash_at=step.removeprefix("crash-after-")
                .replace("snapshot", "snapshot-stored")
                .replace("patch", "workload-patched"),
            )
        else:
            reconcile(api, now)
        check_invariants(api, edited)

    # Let it settle: no more crashes, the controller finishes rollouts.
    for _ in range(8):
        api.controller(fail=False)
        reconcile(api, now)
        check_invariants(api, edited)
    history = (api.rr.get("status") or {}).get("history") or []
    event(f"phase {(api.rr.get('status') or {}).get('phase')}")
    event("history " + ",".join(f"{h['action']}:{h['outcome']}" for h in history))
    assert not any(h["outcome"] == "Pending" for h in history), "a Pending snapshot was never settled"
    rolled_back = any(h["action"] != "apply" and h["outcome"] == "Succeeded" for h in history)
    if rolled_back and not edited:
        assert api.app_resources() == ORIGINAL
    if (
        api.rr["spec"].get("rollbackRequested")
        and not edited
        and any(h["outcome"] == "Succeeded" for h in history)
    ):
        assert rolled_back and api.app_resources() == ORIGINAL
    assert api.operator_patches <= 2 + sum(1 for h in history if h["outcome"] == "Failed")
