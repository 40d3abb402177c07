"""Helpers shared by the bridge tests (a uniquely named module, so no other test folder shadows it)."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from krr_mcp.sandbox.testing import SandboxHandle

# Numbers the user asked for (no scan in the sandbox): `override`, recorded as the assistant's.
WEB_PROPOSAL: dict[str, Any] = {
    "namespace": "shop",
    "kind": "Deployment",
    "name": "web",
    "containers": [
        {
            "name": "web",
            "override": {"requests": {"cpu": "500m", "memory": "768Mi"}, "limits": {"memory": "1Gi"}},
        }
    ],
}


def list_rrs(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    """Every ResourceRecommendation in the sandbox, read over HTTP with the kubernetes client."""
    with sandbox.api_client() as api:
        result = k8s.CustomObjectsApi(api).list_cluster_custom_object(
            "krr-mcp.io", "v1alpha1", "resourcerecommendations"
        )
    return list(result.get("items") or [])


def assert_nothing_approved(sandbox: SandboxHandle) -> None:
    """The invariant: no RR in the cluster is approved, has an approver, or asks for a rollback."""
    for rr in list_rrs(sandbox):
        spec = rr.get("spec") or {}
        name = rr["metadata"]["name"]
        assert spec.get("approved", False) is False, name
        assert not spec.get("approvedBy"), name
        assert spec.get("rollbackRequested", False) is False, name
