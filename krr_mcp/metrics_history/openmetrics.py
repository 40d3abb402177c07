"""Write a HistorySpec as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.

Series (the ones krr and the native engine read):
  cAdvisor (job="kubelet"): container_cpu_usage_seconds_total (counter), container_memory_working_set_bytes
  kube-state-metrics (job="kube-state-metrics"): kube_pod_owner, kube_replicaset_owner, kube_job_owner,
    kube_pod_status_phase{phase="Running"}, kube_pod_container_info, kube_pod_container_resource_requests,
    kube_pod_container_resource_limits, kube_pod_container_status_last_terminated_reason,
    kube_<kind>_labels,
    kube_horizontalpodautoscaler_{info,spec_target_metric,spec_min_replicas,spec_max_replicas}

Output is split into one file per 2-hour window aligned like promtool's blocks: promtool 2.42 re-reads
its whole input once per 2-hour block, so one big file for a week would be parsed 84 times. Samples are
generated lazily and streamed window by window; memory stays flat whatever the size.

`container_samples()` yields exactly the samples written, so tests can compute expectations from them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .spec import ContainerSpec, HistorySpec, PodSpec, WorkloadSpec

BLOCK_SECONDS = 2 * 3600
Sample = tuple[int, float]


def grid(first: int, last: int, origin: int, step: int) -> range:
    """Timestamps origin + k*step within [first, last]."""
    k0 = max(0, -(-(first - origin) // step))
    return range(origin + k0 * step, last + 1, step)


def _rng(spec: HistorySpec, *parts: str) -> random.Random:
    return random.Random(":".join((str(spec.seed), *parts)))


def _life(pod: PodSpec, duplicate: bool) -> tuple[int, int]:
    return ((pod.start + pod.end) // 2, pod.end) if duplicate else (pod.start, pod.end)


def cpu_samples(
    spec: HistorySpec, w: WorkloadSpec, pod: PodSpec, c: ContainerSpec, duplicate: bool = False
) -> Iterator[Sample]:
    """container_cpu_usage_seconds_total: a counter whose rate follows a daily sine, noise and spikes."""
    rnd = _rng(spec, w.namespace, pod.name, c.name, "cpu-duplicate" if duplicate else "cpu")
    total = 0.0
    for t in grid(*_life(pod, duplicate), spec.start, spec.step):
        phase = math.sin(2 * math.pi * ((t % 86400) / 86400.0 - 0.25))
        rate = max(0.001, c.cpu_base + c.cpu_amp * (0.5 + 0.5 * phase) * rnd.uniform(0.6, 1.2))
        if rnd.random() < 0.01:
            rate *= rnd.uniform(1.5, 3.0)
        total += rate * spec.step
        yield t, total


def memory_samples(
    spec: HistorySpec, w: WorkloadSpec, pod: PodSpec, c: ContainerSpec, duplicate: bool = False
) -> Iterator[Sample]:
    """container_memory_working_set_bytes: follows a daily sine with inertia and noise (whole bytes)."""
    rnd = _rng(spec, w.namespace, pod.name, c.name, "memory-duplicate" if duplicate else "memory")
    mem = c.mem_base
    for t in grid(*_life(pod, duplicate), spec.start, spec.step):
        phase = math.sin(2 * math.pi * ((t % 86400) / 86400.0 - 0.25))
        target = c.mem_base + c.mem_amp * (0.5 + 0.5 * phase)
        mem = mem + 0.2 * (target - mem) + rnd.gauss(0, c.mem_amp * 0.03)
        yield t, float(int(max(mem, c.mem_base * 0.5)))


def container_samples(
    spec: HistorySpec, w: WorkloadSpec, pod: PodSpec, c: ContainerSpec, duplicate: bool = False
) -> tuple[list[Sample], list[Sample]]:
    """(cpu counter samples, memory samples) of one container in one pod, as written.

    `duplicate=True`: the container's second series (ContainerSpec.duplicate_series), else empty.
    """
    if duplicate and not c.duplicate_series:
        return [], []
    return list(cpu_samples(spec, w, pod, c, duplicate)), list(memory_samples(spec, w, pod, c, duplicate))


def _constant(spec: HistorySpec, start: int, end: int, value: float) -> Callable[[], Iterator[Sample]]:
    def gen() -> Iterator[Sample]:
        for t in grid(start, end, spec.start, spec.ksm_interval):
            yield t, value

    return gen


@dataclass
class _Series:
    family: str
    labels: str
    make: Callable[[], Iterator[Sample]]


def _labels(**kv: str) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in kv.items())
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def label_name(key: str) -> str:
    """kube-state-metrics' label_<key> name (non-alphanumerics become _)."""
    return "label_" + "".join(ch if ch.isalnum() else "_" for ch in key)


FAMILY_ORDER = (
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "kube_pod_owner",
    "kube_replicaset_owner",
    "kube_job_owner",
    "kube_pod_status_phase",
    "kube_pod_container_info",
    "kube_pod_container_resource_requests",
    "kube_pod_container_resource_limits",
    "kube_pod_container_status_last_terminated_reason",
    "kube_deployment_labels",
    "kube_statefulset_labels",
    "kube_daemonset_labels",
    "kube_cronjob_labels",
    "kube_job_labels",
    "kube_horizontalpodautoscaler_info",
    "kube_horizontalpodautoscaler_spec_target_metric",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
)


def _workload_series(spec: HistorySpec, w: WorkloadSpec) -> Iterator[_Series]:
    ns = w.namespace
    ksm = {"job": "kube-state-metrics", "instance": "10.0.0.20:8080", "namespace": ns}
    for pod in w.pods:
        for c in w.containers:
            cadvisor = _labels(
                namespace=ns, pod=pod.name, container=c.name, job="kubelet", instance="10.0.0.11:10250"
            )  # fmt: skip
            for duplicate in (False, True) if c.duplicate_series else (False,):
                labels = cadvisor[:-1] + ',id="/restarted"}' if duplicate else cadvisor
                cpu, mem = (
                    _bind(cpu_samples, spec, w, pod, c, duplicate),
                    _bind(memory_samples, spec, w, pod, c, duplicate),
                )
                yield _Series("container_cpu_usage_seconds_total", labels, cpu)
                yield _Series("container_memory_working_set_bytes", labels, mem)
            per_container = {**ksm, "pod": pod.name, "container": c.name, "uid": f"uid-{pod.name}"}
            life = _constant(spec, pod.start, pod.end, 1)
            yield _Series(
                "kube_pod_container_info", _labels(**per_container, image=f"example/{c.name}:1"), life
            )
            for family, values in (
                ("kube_pod_container_resource_requests", c.requests),
                ("kube_pod_container_resource_limits", c.limits),
            ):
                for res, unit in (("cpu", "core"), ("memory", "byte")):
                    if values.get(res) is not None:
                        lab = _labels(**per_container, node="node-1", resource=res, unit=unit)
                        yield _Series(
                            family, lab, _constant(spec, pod.start, pod.end, float(values[res] or 0))
                        )
            if c.oom_killed:
                lab = _labels(**per_container, reason="OOMKilled")
                yield _Series("kube_pod_container_status_last_terminated_reason", lab, life)
        per_pod = {**ksm, "pod": pod.name, "uid": f"uid-{pod.name}"}
        life = _constant(spec, pod.start, pod.end, 1)
        owner = _labels(
            **per_pod, owner_kind=pod.owner_kind, owner_name=pod.owner_name, owner_is_controller="true"
        )
        yield _Series("kube_pod_owner", owner, life)
        yield _Series("kube_pod_status_phase", _labels(**per_pod, phase="Running"), life)
    for controller, (start, end) in w.controllers.items():
        if w.kind == "Deployment":
            lab = _labels(**ksm, replicaset=controller, owner_kind="Deployment", owner_name=w.name,
                          owner_is_controller="true")  # fmt: skip
            yield _Series("kube_replicaset_owner", lab, _constant(spec, start, end, 1))
        elif w.kind == "CronJob":
            lab = _labels(**ksm, job_name=controller, owner_kind="CronJob", owner_name=w.name,
                          owner_is_controller="true")  # fmt: skip
            yield _Series("kube_job_owner", lab, _constant(spec, start, end, 1))
    kind = w.kind.lower()
    workload_labels = {label_name(k): v for k, v in w.labels.items()}
    yield _Series(f"kube_{kind}_labels", _labels(**ksm, **{kind: w.name}, **workload_labels),
                  _constant(spec, spec.start, spec.end, 1))  # fmt: skip
    if w.hpa is not None:
        hpa = {**ksm, "horizontalpodautoscaler": w.hpa.name}
        always = _constant(spec, spec.start, spec.end, 1)
        info = _labels(**hpa, scaletargetref_api_version="apps/v1", scaletargetref_kind=w.kind,
                       scaletargetref_name=w.name)  # fmt: skip
        yield _Series("kube_horizontalpodautoscaler_info", info, always)
        for metric, target in (
            ("cpu", w.hpa.target_cpu_utilization),
            ("memory", w.hpa.target_memory_utilization),
        ):
            if target is not None:
                lab = _labels(**hpa, metric_name=metric, metric_target_type="utilization")
                yield _Series("kube_horizontalpodautoscaler_spec_target_metric", lab,
                              _constant(spec, spec.start, spec.end, target))  # fmt: skip
        yield _Series("kube_horizontalpodautoscaler_spec_min_replicas", _labels(**hpa),
                      _constant(spec, spec.start, spec.end, w.hpa.min_replicas))  # fmt: skip
        yield _Series("kube_horizontalpodautoscaler_spec_max_replicas", _labels(**hpa),
                      _constant(spec, spec.start, spec.end, w.hpa.max_replicas))  # fmt: skip


def _bind(
    fn: Callable[[HistorySpec, WorkloadSpec, PodSpec, ContainerSpec, bool], Iterator[Sample]],
    spec: HistorySpec,
    w: WorkloadSpec,
    pod: PodSpec,
    c: ContainerSpec,
    duplicate: bool,
) -> Callable[[], Iterator[Sample]]:
    return lambda: fn(spec, w, pod, c, duplicate)


def _format(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def write_openmetrics(spec: HistorySpec, out_dir: Path, window: int = BLOCK_SECONDS) -> list[Path]:
    """Write the history as OpenMetrics files, one per `window`-second aligned window; return them."""
    return list(iter_openmetrics(spec, out_dir, window))


def iter_openmetrics(spec: HistorySpec, out_dir: Path, window: int = BLOCK_SECONDS) -> Iterator[Path]:
    """Write the window files one by one, yielding each as soon as it is complete (for pipelining)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_family: dict[str, list[_Series]] = {f: [] for f in FAMILY_ORDER}
    for w in spec.workloads:
        for series in _workload_series(spec, w):
            if spec.kube_state_metrics or series.family.startswith("container_"):
                by_family[series.family].append(series)
    ordered = [s for f in FAMILY_ORDER for s in by_family[f]]
    iters = [s.make() for s in ordered]
    pending: list[Sample | None] = [next(it, None) for it in iters]
    prefixes = [f"{s.family}{s.labels} " for s in ordered]
    first = spec.start // window * window
    for lo in range(first, spec.end + 1, window):
        hi = lo + window
        path = out_dir / f"history-{lo}.om"
        written = 0
        with path.open("w", buffering=1 << 20) as out:
            for i, it in enumerate(iters):
                sample = pending[i]
                if sample is None or sample[0] >= hi:
                    continue
                prefix = prefixes[i]
                lines = []
                while sample is not None and sample[0] < hi:
                    lines.append(f"{prefix}{_format(sample[1])} {sample[0]}\n")
                    sample = next(it, None)
                pending[i] = sample
                written += len(lines)
                out.write("".join(lines))
            out.write("# EOF\n")
        if written:
            yield path
        else:
            path.unlink()
