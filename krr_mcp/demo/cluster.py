"""Reading what the demo shows: a workload's container resources, an RR's phase (waiting for one)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from kubernetes.config.config_exception import ConfigException

from krr_mcp.api.workload_kinds import WORKLOAD_KINDS
from krr_mcp.core.safety.workload import pod_spec
from krr_mcp.kube.client import Kube, KubeError, connect, resource_path, workload_list_path

from .history import PodOwner, WorkloadKey, running_pods
from .narrator import StepFailed

# What the generated history records besides the workloads: the HPAs scaling them, and the controllers
# (ReplicaSets, Jobs) between a workload and its pods.
HPA = ("autoscaling/v2", "horizontalpodautoscalers")
CONTROLLERS = {"ReplicaSet": ("apps/v1", "replicasets"), "Job": ("batch/v1", "jobs")}
CALL_TIMEOUT = 30  # seconds per API call


class PhaseTimeout(StepFailed):
    """An RR did not reach the awaited phase in time (nothing moved it)."""


class DemoCluster:
    """The cluster the demo talks to (the local sandbox or the user's), through the shared client
    (krr_mcp.kube.client.Kube); it only reads."""

    def __init__(self, kubeconfig: str, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        if not Path(kubeconfig).expanduser().exists():
            raise StepFailed(f"kubeconfig {kubeconfig} does not exist")
        try:
            self.kube = Kube(connect(kubeconfig, context), timeout=CALL_TIMEOUT)
        except ConfigException as exc:
            raise StepFailed(f"invalid kubeconfig {kubeconfig}: {exc}") from None

    def workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        found = self.kube.get_workload(namespace, kind, name)
        if found is None:
            raise StepFailed(f"{kind} {namespace}/{name} not found")
        return found

    def container_resources(self, workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Each container's full `resources`, by container name."""
        return {c["name"]: c.get("resources") or {} for c in pod_spec(workload).get("containers") or []}

    def workloads(self) -> list[dict[str, Any]]:
        """Every Deployment, StatefulSet, DaemonSet and CronJob in the cluster, and the HPAs scaling them
        (the generated history records those as kube-state-metrics does)."""
        lists = [(kind, workload_list_path(kind, None)) for kind in WORKLOAD_KINDS]
        lists.append(("HorizontalPodAutoscaler", resource_path(*HPA)))
        return [{**item, "kind": kind} for kind, path in lists for item in self._list(kind, path)]

    def running_pods(self) -> dict[WorkloadKey, list[PodOwner]]:
        """The Running pods of each workload, with the ReplicaSets and Jobs the controllers made
        (history.running_pods of what the API lists)."""
        pods = self._list("Pod", resource_path("v1", "pods"))
        controllers = [
            {**item, "kind": kind}
            for kind, (api_version, plural) in CONTROLLERS.items()
            for item in self._list(kind, resource_path(api_version, plural))
        ]
        return running_pods(pods, controllers)

    def _list(self, kind: str, path: str) -> list[dict[str, Any]]:
        return self.kube.list_items(f"list {kind}s", path)

    def rr(self, namespace: str, name: str) -> dict[str, Any]:
        found = self.kube.get_rr(namespace, name)
        if found is None:
            raise StepFailed(f"resourcerecommendation {name!r} not found in namespace {namespace!r}")
        return found

    def list_rrs(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.kube.list_rrs(namespace)

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
            except (KubeError, StepFailed) as exc:  # StepFailed: not found
                why = exc.detail if isinstance(exc, KubeError) else str(exc)
                raise StepFailed(f"cannot read resourcerecommendation {namespace}/{name}: {why}") from None
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
