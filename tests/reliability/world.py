"""The world around the operator in the reliability tests: a sandbox namespace with Deployments, the
humans and the bridge acting over HTTP, and CRD CEL rules checked the way the API server would.

The sandbox applies the CRD's defaults and evaluates its x-kubernetes-validations (CEL) like a real API
server: a write the rules forbid (withdrawing an approval, editing an approved proposal) is answered
422 and surfaces here as `Refused`.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from krr_mcp.kube.client import MERGE_PATCH, Kube, KubeError, rr_path, workload_path
from krr_mcp.sandbox.controllers import rollout_status
from krr_mcp.sandbox.handle import SandboxHandle

ORIGINAL: dict[str, Any] = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
PROPOSALS: list[dict[str, Any]] = [
    {"requests": {"cpu": "400m", "memory": "448Mi"}, "limits": {"memory": "896Mi"}},
    {"requests": {"cpu": "450m", "memory": "480Mi"}, "limits": {"memory": "960Mi"}},
    {"requests": {"cpu": "600m", "memory": "576Mi"}, "limits": {"memory": "1152Mi"}},
]
HUMAN_EDITS: list[dict[str, Any]] = [
    {"requests": {"cpu": "550m", "memory": "512Mi"}, "limits": {"memory": "1Gi", "cpu": "2"}},
    {"requests": {"cpu": "400m", "memory": "448Mi"}, "limits": {"memory": "896Mi"}},  # = a proposal
]
HUMAN_MANAGER = "kubectl-patch"
BRIDGE_MANAGER = "krr-mcp-bridge"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(namespace: str, name: str, resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rolled-out Deployment with one container `app` (status included, as the sandbox seeds it)."""
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.27",
                            "resources": copy.deepcopy(resources or ORIGINAL),
                        }
                    ]
                },
            },
        },
    }
    ready = dict(obj, metadata={**obj["metadata"], "generation": 1})
    obj["status"] = rollout_status(ready, "done", now_iso())
    return obj


# rr() fields of an RR as the bridge proposes it (from a krr scan over 14 days)
BRIDGE_PROPOSAL: dict[str, Any] = {
    "evidence": {"source": "krr", "strategy": "simple", "historyHours": 336},
    "reason": "reliability test",
    "approved": None,
    "target_labels": True,
    "annotations": {"krr-mcp.io/created-by": "bridge"},
}


class Refused(Exception):
    """The API server (here: the CRD's CEL rules) refused the write."""


@contextlib.contextmanager
def refused_on_422() -> Iterator[None]:
    """The API server's 422 (schema or CEL rule) as `Refused`; 404 too (nothing to write to)."""
    try:
        yield
    except KubeError as exc:
        if exc.status in (404, 422):
            raise Refused(str(exc)) from exc
        raise


class Actor:
    """A human (kubectl) or the bridge writing over HTTP as its field manager."""

    def __init__(self, sandbox: SandboxHandle, api: Any, field_manager: str) -> None:
        self.sandbox = sandbox
        self.kube = Kube(api, field_manager=field_manager)

    def patch_rr_spec(self, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Merge-patch an RR's spec; Refused when the API server refuses it (422: schema or CEL rules)."""
        query = [("fieldManager", self.kube.field_manager)]
        with refused_on_422():
            return dict(
                self.kube.request(
                    "patch rr",
                    "PATCH",
                    rr_path(namespace, name),
                    body={"spec": spec},
                    query=query,
                    content_type=MERGE_PATCH,
                )
            )

    def create_rr(self, body: dict[str, Any]) -> dict[str, Any]:
        with refused_on_422():
            return self.kube.create_rr(body["metadata"]["namespace"], body)

    def delete(self, path: str) -> None:
        try:
            self.kube.request("delete", "DELETE", path)
        except KubeError as exc:
            if exc.status != 404:
                raise

    def set_resources(self, namespace: str, name: str, resources: dict[str, Any]) -> dict[str, Any]:
        """Edit the workload's container `app` behind the operator's back (like `kubectl set resources`)."""
        live = self.kube.get_workload(namespace, "Deployment", name)
        assert live is not None
        containers = copy.deepcopy(live["spec"]["template"]["spec"]["containers"])
        for c in containers:
            if c["name"] == "app":
                c["resources"] = copy.deepcopy(resources)
        patch = [{"op": "replace", "path": "/spec/template/spec/containers", "value": containers}]
        query = [("fieldManager", self.kube.field_manager)]
        return dict(
            self.kube.request(
                "edit workload",
                "PATCH",
                workload_path(namespace, "Deployment", name),
                body=patch,
                query=query,
                content_type="application/json-patch+json",
            )
        )

    def rollout(self, namespace: str, name: str, phase: str) -> None:
        """Play the Deployment controller: the rollout of the current generation is `phase` (done|failed)."""
        live = self.kube.get_workload(namespace, "Deployment", name)
        if live is None:
            return
        status = rollout_status(live, phase, now_iso())
        self.kube.request(
            "rollout",
            "PATCH",
            workload_path(namespace, "Deployment", name) + "/status",
            body={"status": status},
            content_type=MERGE_PATCH,
        )
