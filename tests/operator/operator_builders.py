"""Builders for RR and workload dicts as the API server returns them (shared by the operator tests)."""

from __future__ import annotations

import copy
from typing import Any

from krr_operator.approval_gate import ApprovalGate
from krr_operator.reconcile import ReconcileSettings

from krr_mcp.core.workloads import pod_spec_path

API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "CronJob": "batch/v1",
}


def workload(
    kind: str = "Deployment",
    name: str = "web",
    containers: dict[str, dict[str, Any]] | None = None,
    *,
    generation: int = 1,
    init_containers: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A workload with the given containers (name -> resources) and a status of a finished rollout."""
    if containers is None:
        containers = {"app": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}}
    pod_spec: dict[str, Any] = {
        "containers": [
            {"name": n, "image": f"example/{n}:1", "resources": copy.deepcopy(r)}
            for n, r in containers.items()
        ]
    }
    if init_containers:
        pod_spec["initContainers"] = [
            {"name": n, "image": "example/init:1", "resources": copy.deepcopy(r)}
            for n, r in init_containers.items()
        ]
    obj: dict[str, Any] = {
        "apiVersion": API_VERSIONS.get(kind, "apps/v1"),
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"{name}-uid",
            "generation": generation,
            "resourceVersion": "10",
        },
    }
    node = obj
    path = pod_spec_path(kind) if kind in API_VERSIONS else ("spec", "template", "spec")
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = pod_spec
    if kind in ("Deployment", "StatefulSet"):
        obj["spec"]["replicas"] = 2
        obj["status"] = {
            "observedGeneration": generation,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
        }
    if kind == "DaemonSet":
        obj["status"] = {
            "observedGeneration": generation,
            "desiredNumberScheduled": 3,
            "updatedNumberScheduled": 3,
            "numberAvailable": 3,
        }
    return obj


def rr(
    name: str = "web-rr",
    *,
    kind: str = "Deployment",
    target: str = "web",
    containers: list[dict[str, Any]] | None = None,
    approved: bool = False,
    approved_by: str | None = None,
    status: dict[str, Any] | None = None,
    created: str = "2026-11-25T10:00:00Z",
    generation: int = 1,
    **spec_fields: Any,
) -> dict[str, Any]:
    """An RR proposing app: cpu 1 -> 250m, memory 1Gi -> 512Mi (limits memory 2Gi -> 1Gi) by default."""
    if containers is None:
        containers = [
            {
                "name": "app",
                "current": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
                "proposed": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            }
        ]
    spec: dict[str, Any] = {
        "target": {"apiVersion": API_VERSIONS.get(kind, "apps/v1"), "kind": kind, "name": target},
        "containers": containers,
        "evidence": {"source": "krr"},
        "reason": "right-size",
        "approved": approved,
        **spec_fields,
    }
    if approved:
        spec["approvedBy"] = approved_by or "alice"
    body: dict[str, Any] = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {
            "name": name,
            "namespace": "default",
            "generation": generation,
            "creationTimestamp": created,
        },
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return body


def settings_without_admission(**fields: Any) -> ReconcileSettings:
    """Reconcile settings for API servers that run no admission policies (the sandbox, in-memory
    stand-ins): the approval gate is not required, as with --allow-without-admission-policy."""
    return ReconcileSettings(approval_gate=ApprovalGate(required=False), **fields)
