"""The one table of the workload kinds krr-mcp right-sizes: API group/version, plural, where the pod
template lives, kubectl's short name. Every other per-kind map is derived from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkloadKindInfo:
    api_version: str  # group/version, e.g. "apps/v1"
    plural: str  # the resource name in API paths
    template_path: tuple[str, ...]  # keys from the object's root to its pod template
    short_name: str  # kubectl's short name (used in generated RR names)
    rolls_out: bool = True  # a template change rolls out pods (a CronJob's next Job just uses it)


WORKLOAD_KINDS: dict[str, WorkloadKindInfo] = {
    "Deployment": WorkloadKindInfo("apps/v1", "deployments", ("spec", "template"), "deploy"),
    "StatefulSet": WorkloadKindInfo("apps/v1", "statefulsets", ("spec", "template"), "sts"),
    "DaemonSet": WorkloadKindInfo("apps/v1", "daemonsets", ("spec", "template"), "ds"),
    "CronJob": WorkloadKindInfo(
        "batch/v1", "cronjobs", ("spec", "jobTemplate", "spec", "template"), "cj", False
    ),
}
