"""What a synthetic cluster's metric history contains: workloads, their pods and containers, over time.

Plain frozen dataclasses; `openmetrics.py` turns a `HistorySpec` into cAdvisor and kube-state-metrics
series. `synthetic_cluster()` builds a cluster of N containers for benchmarks and demos.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 1024 * 1024


@dataclass(frozen=True)
class ContainerSpec:
    """One container and its usage profile (a daily sine plus noise and rare spikes)."""

    name: str
    cpu_base: float = 0.05  # cores
    cpu_amp: float = 0.05
    mem_base: float = 100 * MIB  # bytes
    mem_amp: float = 20 * MIB
    requests: dict[str, float | None] = field(default_factory=lambda: {"cpu": None, "memory": None})
    limits: dict[str, float | None] = field(default_factory=lambda: {"cpu": None, "memory": None})
    oom_killed: bool = False  # kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}
    # A second cAdvisor series for the same container (another `id`, as after a restart) over the
    # second half of each pod's life: krr's `max by (container, pod, job)` then matters.
    duplicate_series: bool = False


@dataclass(frozen=True)
class PodSpec:
    """A pod, its controller (ReplicaSet, StatefulSet, DaemonSet or Job) and when it ran (epoch s)."""

    name: str
    owner_kind: str
    owner_name: str
    start: int
    end: int


@dataclass(frozen=True)
class HpaSpec:
    name: str
    min_replicas: int = 1
    max_replicas: int = 5
    target_cpu_utilization: float | None = 70.0
    target_memory_utilization: float | None = None


@dataclass(frozen=True)
class WorkloadSpec:
    """A workload (Deployment, StatefulSet, DaemonSet, CronJob) with its pods.

    `controllers` are the intermediate owners with their lifetimes: ReplicaSets of a Deployment,
    Jobs of a CronJob (name -> (start, end)).
    """

    namespace: str
    kind: str
    name: str
    containers: tuple[ContainerSpec, ...]
    pods: tuple[PodSpec, ...]
    controllers: dict[str, tuple[int, int]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    hpa: HpaSpec | None = None


@dataclass(frozen=True)
class HistorySpec:
    """The whole history: sample timestamps are start, start+step, ... <= end (epoch seconds)."""

    workloads: tuple[WorkloadSpec, ...]
    start: int
    end: int
    step: int = 60
    ksm_step: int | None = None  # kube-state-metrics sample spacing (default: step)
    seed: int = 42
    kube_state_metrics: bool = True  # False: cAdvisor series only (kube-state-metrics not installed)

    @property
    def ksm_interval(self) -> int:
        return self.ksm_step or self.step


def _rs_hash(index: int) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    out = ""
    value = index * 7919 + 104729
    for _ in range(9):
        out += alphabet[value % len(alphabet)]
        value //= len(alphabet)
    return out


def synthetic_cluster(
    containers: int,
    *,
    end: int,
    days: float = 7.0,
    step: int = 60,
    ksm_step: int | None = None,
    namespaces: int | None = None,
    containers_per_workload: int = 2,
    seed: int = 42,
) -> HistorySpec:
    """A cluster with `containers` containers: Deployments of `containers_per_workload` containers,
    one replica each, spread over namespaces (default: one namespace per 100 containers)."""
    start = end - int(days * 86400) // step * step
    n_ns = namespaces or max(1, (containers + 99) // 100)
    workloads = []
    made = 0
    index = 0
    while made < containers:
        per = min(containers_per_workload, containers - made)
        ns = f"team-{index % n_ns:03d}"
        name = f"app-{index:05d}"
        rs = f"{name}-{_rs_hash(index)}"
        specs = tuple(
            ContainerSpec(
                name=f"c{c}",
                cpu_base=0.02 + (index * 37 + c * 11) % 400 / 1000,
                cpu_amp=0.01 + (index * 13 + c) % 300 / 1000,
                mem_base=(64 + (index * 29 + c * 7) % 900) * MIB,
                mem_amp=(8 + (index + c) % 120) * MIB,
                requests={"cpu": 0.5, "memory": 512.0 * MIB},
                limits={"cpu": None, "memory": 1024.0 * MIB},
            )
            for c in range(per)
        )
        pod = PodSpec(
            name=f"{rs}-x{index % 10}k{index % 7}q",
            owner_kind="ReplicaSet",
            owner_name=rs,
            start=start,
            end=end,
        )
        workloads.append(
            WorkloadSpec(
                namespace=ns,
                kind="Deployment",
                name=name,
                containers=specs,
                pods=(pod,),
                controllers={rs: (start, end)},
                labels={"app": name, "tier": "web" if index % 2 else "worker"},
            )
        )
        made += per
        index += 1
    return HistorySpec(
        workloads=tuple(workloads), start=start, end=end, step=step, ksm_step=ksm_step, seed=seed
    )


def _quantity(resource: str, amount: float) -> str:
    """A Kubernetes quantity for a spec amount: whole millicores for CPU, bytes for memory."""
    return f"{round(amount * 1000)}m" if resource == "cpu" else str(round(amount))


def workload_objects(spec: HistorySpec) -> list[dict[str, object]]:
    """The API objects of a spec's Deployments (and their Namespaces, first): what an API server holds
    for the cluster whose history `spec` is, so API discovery (the engine's and krr's) finds the same
    workloads, labels and current requests/limits as kube-state-metrics. Other kinds are not made."""
    namespaces = sorted({w.namespace for w in spec.workloads if w.kind == "Deployment"})
    out: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces
    ]
    for w in spec.workloads:
        if w.kind != "Deployment":
            continue
        selector = {"app": w.labels.get("app", w.name)}
        containers = [
            {
                "name": c.name,
                "image": "example/app:1",
                "resources": {
                    section: {r: _quantity(r, v) for r, v in amounts.items() if v is not None}
                    for section, amounts in (("requests", c.requests), ("limits", c.limits))
                },
            }
            for c in w.containers
        ]
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": w.name, "namespace": w.namespace, "labels": dict(w.labels)},
                "spec": {
                    "replicas": sum(1 for p in w.pods if p.end >= spec.end) or 1,
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": {**w.labels, **selector}},
                        "spec": {"containers": containers},
                    },
                },
            }
        )
    return out
