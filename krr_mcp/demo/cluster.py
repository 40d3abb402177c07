"""Reading what the demo shows: a workload's container resources, an RR's phase (waiting for one)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from krr_mcp.kubectl_plugin import kube as plugin_kube
from krr_mcp.kubectl_plugin.errors import PluginError
from krr_mcp.kubectl_plugin.workload_diff import pod_spec

from .history import PodOwner, WorkloadKey, running_pods
from .narrator import StepFailed

WORKLOAD_LISTS = {
    "Deployment": "/apis/apps/v1/deployments",
    "StatefulSet": "/apis/apps/v1/statefulsets",
    "DaemonSet": "/apis/apps/v1/daemonsets",
    "CronJob": "/apis/batch/v1/cronjobs",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/horizontalpodautoscalers",
}


class PhaseTimeout(StepFailed):
    """An RR did not reach the awaited phase in time (nothing moved it)."""


class DemoCluster:
    """The cluster the demo talks to (the local sandbox or the user's), through the kubernetes client."""

    def __init__(self, kubeconfig: str, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.conn = plugin_kube.connect(kubeconfig, context)

    def workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        return plugin_kube.get_workload(self.conn, namespace, kind, name)

    def container_resources(self, workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Each container's full `resources`, by container name."""
        return {c["name"]: c.get("resources") or {} for c in pod_spec(workload).get("containers") or []}

    def workloads(self) -> list[dict[str, Any]]:
        """Every Deployment, StatefulSet, DaemonSet and CronJob in the cluster, and the HPAs scaling them
        (the generated history records those as kube-state-metrics does)."""
        found = []
        for kind, path in WORKLOAD_LISTS.items():
            items = plugin_kube.request(self.conn, "GET", path).get("items") or []
            found += [{**item, "kind": kind} for item in items]
        return found

    def running_pods(self) -> dict[WorkloadKey, list[PodOwner]]:
        """The Running pods of each workload, with the ReplicaSets and Jobs the controllers made
        (history.running_pods of what the API lists)."""
        pods = plugin_kube.request(self.conn, "GET", "/api/v1/pods").get("items") or []
        controllers = [
            {**item, "kind": kind}
            for kind, path in (("ReplicaSet", "/apis/apps/v1/replicasets"), ("Job", "/apis/batch/v1/jobs"))
            for item in plugin_kube.request(self.conn, "GET", path).get("items") or []
        ]
        return running_pods(pods, controllers)

    def rr(self, namespace: str, name: str) -> dict[str, Any]:
        return plugin_kube.get_rr(self.conn, namespace, name)

    def list_rrs(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return plugin_kube.list_rrs(self.conn, namespace)

    async def wait_for_phase(
        self,
        namespace: str,
        name: str,
        phases: set[str],
        timeout: float,
        fail_phases: frozenset[str] = frozenset({"Failed", "Stale", "Expired", "Rejected", "Superseded"}),
    ) -> dict:
        """Poll the RR until its phase is one of `phases`; StepFailed on a failure phase or timeout."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                last = await asyncio.to_thread(self.rr, namespace, name)
            except PluginError as exc:
                raise StepFailed(
                    f"cannot read resourcerecommendation {namespace}/{name}: {exc.message}"
                ) from None
            status = last.get("status") or {}
            phase = status.get("phase")
            if phase in phases:
                return last
            if phase in fail_phases:
                raise StepFailed(f"{namespace}/{name} went {phase}: {status.get('message', '')}")
            await asyncio.sleep(0.2)
        phase = (last.get("status") or {}).get("phase")
        raise PhaseTimeout(
            f"{namespace}/{name} did not reach {'/'.join(sorted(phases))} within {timeout:.0f}s "
            f"(phase {phase or 'none'}); is the operator running?"
        )
