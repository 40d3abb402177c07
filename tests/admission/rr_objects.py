"""A ResourceRecommendation as the API server stores it (schema defaults applied), for CEL tests."""

from __future__ import annotations

from typing import Any

from krr_mcp.api.resource_recommendation import ResourceRecommendation


def stored_rr(namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    """A proposal for Deployment web's container app, with `spec` fields overridden."""
    body = ResourceRecommendation.model_validate(
        {
            "metadata": {"name": "web-1", "namespace": namespace},
            "spec": {
                "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "containers": [
                    {
                        "name": "app",
                        "current": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                        "proposed": {
                            "requests": {"cpu": "250m", "memory": "384Mi"},
                            "limits": {"memory": "384Mi"},
                        },
                    }
                ],
                "evidence": {"source": "krr"},
                "reason": "p95 cpu 120m, peak memory 300Mi over 14 days",
            },
        }
    ).model_dump(mode="json", exclude_none=True, exclude={"status"})
    body["spec"].update(spec)
    return body
