"""RR dicts shaped as the API server returns them, built through the real model (so they stay valid)."""

from __future__ import annotations

from typing import Any

from krr_mcp.api.resource_recommendation import ResourceRecommendation


def make_rr(
    name: str = "web-rr",
    namespace: str = "default",
    *,
    phase: str | None = "Proposed",
    approved: bool = False,
    rejected: bool = False,
    resource_version: str = "7",
    expires_at: str | None = None,
    history: list[dict[str, Any]] | None = None,
    safety: dict[str, Any] | None = None,
    rollback_requested: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": resource_version,
            "creationTimestamp": "2026-11-25T09:00:00Z",
            "annotations": {"krr-mcp.io/created-by": "bridge"},
        },
        "spec": {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "containers": [
                {
                    "name": "app",
                    "current": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
                    "proposed": {
                        "requests": {"cpu": "250m", "memory": "640Mi"},
                        "limits": {"memory": "640Mi"},
                    },
                    "usage": {"cpuPercentileCores": "200m", "memoryPeak": "500Mi", "dataPoints": 1000},
                    "severity": "WARNING",
                }
            ],
            "evidence": {"source": "native", "historyHours": 168, "cpuPercentile": 95},
            "reason": "CPU p95 is 200m over 7 days",
            "approved": approved,
            "approvedBy": "alice" if approved else None,
            "rejected": rejected,
            "rollbackRequested": rollback_requested,
            "expiresAt": expires_at,
        },
        "status": {"phase": phase, "history": history or [], "safety": safety},
    }
    if phase is None:
        body["status"] = {}
    rr = ResourceRecommendation.model_validate(body)
    dumped = rr.model_dump(mode="json", exclude_none=True)
    if phase is None:
        dumped.pop("status", None)
    return dumped


APPLY_ENTRY = {
    "action": "apply",
    "outcome": "Succeeded",
    "at": "2026-11-25T09:05:00Z",
    "actor": "alice",
    "containers": [
        {
            "name": "app",
            "before": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            "after": {"requests": {"cpu": "250m", "memory": "640Mi"}, "limits": {"memory": "640Mi"}},
        }
    ],
}
