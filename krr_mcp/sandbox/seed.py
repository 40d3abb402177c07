"""What a sandbox starts with: the system namespaces always; with the default seed, sample workloads
whose resources are worth right-sizing (some over-provisioned, some under-provisioned). CRDs are the
caller's to give (`launch.seed_server`): the sandbox knows nothing of the project's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SEED_NAMESPACES = ("shop", "billing", "batch")


def crd_files(crds_dir: Path | None) -> list[Path]:
    if crds_dir is None or not crds_dir.is_dir():
        return []
    return sorted([*crds_dir.glob("*.yaml"), *crds_dir.glob("*.yml")])


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def container(
    name: str, image: str, cpu: str, memory: str, cpu_limit: str | None, memory_limit: str
) -> dict[str, Any]:
    limits = {"memory": memory_limit}
    if cpu_limit:
        limits["cpu"] = cpu_limit
    return {
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": limits},
    }


def _template(app: str, containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}}, "spec": {"containers": containers}}


def workload(
    kind: str, ns: str, name: str, replicas: int | None, containers: list[dict[str, Any]]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": _template(name, containers),
    }
    if replicas is not None:
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name, "app.kubernetes.io/part-of": ns}},
        "spec": spec,
    }


def default_objects() -> list[dict[str, Any]]:
    """The default seed. Comments say what a right-sizer should find."""
    objects: list[dict[str, Any]] = [namespace(n, {"team": n}) for n in SEED_NAMESPACES]
    objects += [
        # Over-provisioned web server plus an under-provisioned (memory) log sidecar.
        workload(
            "Deployment",
            "shop",
            "web",
            3,
            [
                container("web", "nginx:1.27", "1", "1Gi", "2", "2Gi"),
                container("log-shipper", "fluent/fluent-bit:3.1", "10m", "16Mi", None, "32Mi"),
            ],
        ),
        # Under-provisioned, scaled by an HPA on CPU.
        workload(
            "Deployment",
            "shop",
            "cart",
            2,
            [container("cart", "ghcr.io/example/cart:2.4", "50m", "64Mi", None, "128Mi")],
        ),
        # Heavily over-provisioned API.
        workload(
            "Deployment",
            "billing",
            "api",
            2,
            [container("api", "ghcr.io/example/billing-api:1.9", "2", "4Gi", "4", "4Gi")],
        ),
        workload(
            "StatefulSet",
            "billing",
            "postgres",
            1,
            [container("postgres", "postgres:16", "500m", "512Mi", None, "1Gi")],
        ),
        workload(
            "DaemonSet",
            "shop",
            "node-agent",
            None,
            [container("agent", "prom/node-exporter:v1.8.2", "200m", "256Mi", "500m", "256Mi")],
        ),
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly-report", "namespace": "batch", "labels": {"app": "nightly-report"}},
            "spec": {
                "schedule": "0 2 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "metadata": {"labels": {"app": "nightly-report"}},
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [
                                    container("report", "ghcr.io/example/report:0.7", "1", "2Gi", None, "2Gi")
                                ],
                            },
                        }
                    }
                },
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cart"},
                "minReplicas": 2,
                "maxReplicas": 6,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
            # A real API server always returns a status (the HPA controller keeps it current); krr
            # reads status.currentReplicas and, without a status, silently assumes "no HPA".
            "status": {"currentReplicas": 2, "desiredReplicas": 2},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "container-limits", "namespace": "shop"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "max": {"cpu": "4", "memory": "8Gi"},
                        "min": {"cpu": "10m", "memory": "16Mi"},
                        "default": {"cpu": "500m", "memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                    }
                ]
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "compute", "namespace": "billing"},
            "spec": {
                "hard": {
                    "requests.cpu": "8",
                    "requests.memory": "16Gi",
                    "limits.cpu": "16",
                    "limits.memory": "24Gi",
                }
            },
        },
    ]
    return objects
