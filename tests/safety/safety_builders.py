"""Builders for the safety tests: an RR spec, a live workload and its surroundings as plain API dicts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec, SafetyReport
from krr_mcp.core.safety import ClusterContext, evaluate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

CURRENT: dict[str, Any] = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}


def resources(
    cpu: str | None = None,
    memory: str | None = None,
    cpu_limit: str | None = None,
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """A container `resources` dict with only the given values set."""
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    limits = {k: v for k, v in (("cpu", cpu_limit), ("memory", memory_limit)) if v is not None}
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def workload(
    kind: str = "Deployment",
    name: str = "web",
    namespace: str = "shop",
    containers: dict[str, dict[str, Any]] | None = None,
    replicas: int | None = 3,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    pod_labels: dict[str, str] | None = None,
    init_containers: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A live workload as the API returns it; `containers` maps name -> resources."""
    containers = {"app": copy.deepcopy(CURRENT)} if containers is None else containers
    pod_spec: dict[str, Any] = {
        "containers": [{"name": n, "image": "nginx", "resources": r} for n, r in containers.items()]
    }
    if init_containers:
        pod_spec["initContainers"] = [
            {"name": n, "image": "busybox", "resources": r} for n, r in init_containers.items()
        ]
    template = {"metadata": {"labels": pod_labels or {"app": name}}, "spec": pod_spec}
    spec: dict[str, Any]
    if kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"selector": {"matchLabels": {"app": name}}, "template": template}
        if kind != "DaemonSet" and replicas is not None:
            spec["replicas"] = replicas
    obj: dict[str, Any] = {
        "apiVersion": "batch/v1" if kind == "CronJob" else "apps/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {},
            "annotations": annotations or {},
        },
        "spec": spec,
    }
    if kind == "DaemonSet":
        obj["status"] = {"desiredNumberScheduled": replicas or 0}
    return obj


def rr_spec(
    proposed: dict[str, Any] | None = None,
    *,
    container: str = "app",
    current: dict[str, Any] | None = None,
    peak: str | None = "200Mi",
    oom: bool = False,
    kind: str = "Deployment",
    name: str = "web",
    more: list[dict[str, Any]] | None = None,
) -> ResourceRecommendationSpec:
    """An RR spec for one container (plus `more` containers as raw dicts)."""
    usage: dict[str, Any] = {"oomKilled": oom}
    if peak is not None:
        usage["memoryPeak"] = peak
    containers = [
        {
            "name": container,
            "current": current if current is not None else copy.deepcopy(CURRENT),
            "proposed": proposed if proposed is not None else copy.deepcopy(CURRENT),
            "usage": usage,
        },
        *(more or []),
    ]
    return ResourceRecommendationSpec.model_validate(
        {
            "target": {
                "apiVersion": "batch/v1" if kind == "CronJob" else "apps/v1",
                "kind": kind,
                "name": name,
            },
            "containers": containers,
            "evidence": {"source": "krr"},
            "reason": "right-size from observed usage",
        }
    )


def namespace_obj(
    name: str = "shop", labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
    }


def run(
    spec: ResourceRecommendationSpec | None = None,
    live: dict[str, Any] | None = None,
    context: ClusterContext | None = None,
    policy: PolicySpec | None = None,
) -> SafetyReport:
    return evaluate(
        spec or rr_spec(),
        live if live is not None else workload(),
        context or ClusterContext(namespace=namespace_obj()),
        policy or PolicySpec(),
        NOW,
    )


def rules(report: SafetyReport, severity: str | None = None) -> list[str]:
    """The rule names of the report's findings (of one severity), without the closing `risk` summary."""
    return [
        f.rule for f in report.findings if f.rule != "risk" and (severity is None or f.severity == severity)
    ]


def messages(report: SafetyReport, rule: str) -> list[str]:
    return [f.message for f in report.findings if f.rule == rule]
