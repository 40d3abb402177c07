"""Usage history for the demo's workloads, served by a real Prometheus (krr_mcp.metrics_history).

`history_for(workloads, end)` is pure: the cluster's workloads (dicts from the API) in, a HistorySpec out,
with usage profiles that make the sample workloads worth right-sizing (what the sandbox's seed comments
say: web and billing-api over-provisioned, the log sidecar short of memory, cart short of CPU). Unknown
workloads use a third of their requests. Pods are named and owned the way kube-state-metrics reports
them, so the recommenders find them by owner as krr does. On a real cluster, `running_pods` reads the
pods the controllers really started (ReplicaSet and Job names included) and the history is theirs.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from krr_mcp.api.quantities import QuantityError, parse_resource_quantity
from krr_mcp.core.safety.workload import pod_spec

MIB = 1024 * 1024
DAYS = 1.0  # enough points for the strategy (1440 per pod), half the promtool work of two
STEP = 60

# (namespace, workload, container) -> usage as fractions of the requests: (cpu, memory).
PROFILES: dict[tuple[str, str, str], tuple[float, float]] = {
    ("shop", "web", "web"): (0.12, 0.30),
    ("shop", "web", "log-shipper"): (0.5, 1.6),
    ("shop", "cart", "cart"): (2.2, 1.3),
    ("billing", "api", "api"): (0.05, 0.10),
    ("billing", "postgres", "postgres"): (0.7, 0.85),
    ("shop", "node-agent", "agent"): (0.1, 0.2),
    ("batch", "nightly-report", "report"): (0.6, 0.5),
}
DEFAULT_PROFILE = (0.33, 0.33)
WorkloadKey = tuple[str, str, str]  # (namespace, kind, name)
PodOwner = tuple[str, str, str]  # (pod name, owner kind, owner name) as kube_pod_owner reports them
# A pod's controller -> the workload kind owning that controller (krr's owner chain).
_PARENTS = {"ReplicaSet": "Deployment", "Job": "CronJob"}


def _amount(resources: dict[str, Any], section: str, name: str) -> float | None:
    value = (resources.get(section) or {}).get(name)
    if value is None:
        return None
    try:
        return float(parse_resource_quantity(str(value), name))
    except QuantityError:
        return None


def _suffix(*parts: str, length: int = 5) -> str:
    digest = hashlib.sha256(":".join(parts).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 2 * length, 2))


def _replicas(workload: dict[str, Any]) -> int:
    if workload.get("kind") == "DaemonSet":
        return int((workload.get("status") or {}).get("desiredNumberScheduled") or 2)
    if workload.get("kind") == "CronJob":
        return 1
    return max(1, int((workload.get("spec") or {}).get("replicas") or 1))


def hpa_specs(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    """{(namespace, target kind, target name): HpaSpec} for the HorizontalPodAutoscalers (autoscaling/v2)
    among `objects`: kube-state-metrics' HPA series then say what the API says."""
    from krr_mcp.metrics_history import HpaSpec

    out = {}
    for hpa in objects:
        if hpa.get("kind") != "HorizontalPodAutoscaler":
            continue
        meta, spec = hpa.get("metadata") or {}, hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        targets: dict[str, float | None] = {"cpu": None, "memory": None}
        for metric in spec.get("metrics") or []:
            resource = metric.get("resource") or {}
            name = resource.get("name")
            if metric.get("type") == "Resource" and name in targets and targets[name] is None:
                utilization = (resource.get("target") or {}).get("averageUtilization")
                targets[name] = None if utilization is None else float(utilization)
        key = (str(meta.get("namespace")), str(ref.get("kind")), str(ref.get("name")))
        out[key] = HpaSpec(
            name=str(meta.get("name")),
            min_replicas=int(spec.get("minReplicas") or 1),
            max_replicas=int(spec.get("maxReplicas") or 1),
            target_cpu_utilization=targets["cpu"],
            target_memory_utilization=targets["memory"],
        )
    return out


def _controller(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the ownerReference marked controller."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("kind")), str(ref.get("name"))
    return None


def running_pods(
    pods: list[dict[str, Any]], controllers: list[dict[str, Any]]
) -> dict[WorkloadKey, list[PodOwner]]:
    """The Running pods of each workload, from the API's Pods and the ReplicaSets and Jobs between them
    and their workload: {(namespace, kind, name): [(pod, owner kind, owner name)]}, pods by name. A pod
    whose owner chain does not end at a Deployment, StatefulSet, DaemonSet or CronJob is left out."""
    parents = {}
    for obj in controllers:
        meta, owner = obj.get("metadata") or {}, _controller(obj)
        if owner and owner[0] == _PARENTS.get(str(obj.get("kind"))):
            parents[(str(meta.get("namespace")), str(obj.get("kind")), str(meta.get("name")))] = owner
    found: dict[WorkloadKey, list[PodOwner]] = {}
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        meta, owner = pod.get("metadata") or {}, _controller(pod)
        if owner is None or (pod.get("status") or {}).get("phase") != "Running":
            continue
        namespace = str(meta.get("namespace"))
        if owner[0] in _PARENTS:
            workload = parents.get((namespace, *owner))
        else:
            workload = owner if owner[0] in ("StatefulSet", "DaemonSet") else None
        if workload is not None:
            found.setdefault((namespace, *workload), []).append((str(meta.get("name")), *owner))
    return found


def history_for(
    workloads: list[dict[str, Any]],
    end: int,
    days: float = DAYS,
    step: int = STEP,
    pods: dict[WorkloadKey, list[PodOwner]] | None = None,
) -> Any:
    """A metrics_history.HistorySpec covering `days` before `end` for these workloads (HPAs among the
    objects are recorded on the workloads they scale). `pods` (running_pods): the pods that really run,
    for the workloads it names; the others get one made-up pod per replica, named as their controllers
    would name them."""
    from krr_mcp.metrics_history import ContainerSpec, HistorySpec, PodSpec, WorkloadSpec

    start = end - int(days * 86400) // step * step
    hpas = hpa_specs(workloads)
    specs = []
    for w in workloads:
        if w.get("kind") == "HorizontalPodAutoscaler":
            continue
        meta, kind = w.get("metadata") or {}, str(w.get("kind"))
        ns, name = str(meta.get("namespace")), str(meta.get("name"))
        containers = []
        for c in pod_spec(w).get("containers") or []:
            res = c.get("resources") or {}
            cpu_req = _amount(res, "requests", "cpu") or 0.1
            mem_req = _amount(res, "requests", "memory") or 128 * MIB
            cpu_f, mem_f = PROFILES.get((ns, name, c["name"]), DEFAULT_PROFILE)
            containers.append(
                ContainerSpec(
                    name=c["name"],
                    cpu_base=cpu_req * cpu_f * 0.7,
                    cpu_amp=cpu_req * cpu_f * 0.5,
                    mem_base=mem_req * mem_f * 0.85,
                    mem_amp=mem_req * mem_f * 0.2,
                    requests={
                        "cpu": _amount(res, "requests", "cpu"),
                        "memory": _amount(res, "requests", "memory"),
                    },
                    limits={"cpu": _amount(res, "limits", "cpu"), "memory": _amount(res, "limits", "memory")},
                )
            )
        controllers: dict[str, tuple[int, int]] = {}
        real = (pods or {}).get((ns, kind, name))
        if real:
            controllers = {owner: (start, end) for _, owner_kind, owner in real if owner_kind in _PARENTS}
            pod_specs = [
                PodSpec(name=p, owner_kind=k, owner_name=o, start=start, end=end) for p, k, o in real
            ]
        else:
            pod_specs = _made_up_pods(w, start, end, controllers)
        specs.append(
            WorkloadSpec(
                namespace=ns,
                kind=kind,
                name=name,
                containers=tuple(containers),
                pods=tuple(pod_specs),
                controllers=controllers,
                labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
                hpa=hpas.get((ns, kind, name)),
            )
        )
    return HistorySpec(workloads=tuple(specs), start=start, end=end, step=step)


def _made_up_pods(
    w: dict[str, Any], start: int, end: int, controllers: dict[str, tuple[int, int]]
) -> list[Any]:
    """One pod per replica of `w`, named and owned as its controllers would; adds the intermediate
    controller (ReplicaSet, Job) to `controllers`."""
    from krr_mcp.metrics_history import PodSpec

    meta, kind = w.get("metadata") or {}, str(w.get("kind"))
    ns, name = str(meta.get("namespace")), str(meta.get("name"))
    if kind == "Deployment":
        owner_kind, owner = "ReplicaSet", f"{name}-{_suffix(ns, name, length=9)}"
        controllers[owner] = (start, end)
    elif kind == "CronJob":
        owner_kind, owner = "Job", f"{name}-{_suffix(ns, name, 'job', length=8)}"
        controllers[owner] = (start, end)
    else:
        owner_kind, owner = kind, name
    return [
        PodSpec(
            name=f"{name}-{index}" if kind == "StatefulSet" else f"{owner}-{_suffix(ns, name, str(index))}",
            owner_kind=owner_kind,
            owner_name=owner,
            start=start,
            end=end,
        )
        for index in range(_replicas(w))
    ]


@contextmanager
def demo_prometheus(
    workloads: list[dict[str, Any]], end: int, pods: dict[WorkloadKey, list[PodOwner]] | None = None
) -> Iterator[str]:
    """A real Prometheus holding `history_for(workloads, end, pods=pods)` in a TSDB of its own (a
    temporary directory, removed afterwards); yields its URL."""
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb

    with tempfile.TemporaryDirectory(prefix="krr-mcp-demo-history-") as work:
        tsdb = build_tsdb(history_for(workloads, end, pods=pods), Path(work))
        with PrometheusProcess(tsdb) as prometheus:
            yield prometheus.url
