"""Find workloads, their pods and containers and current resources from kube-state-metrics series.

A scan then needs only Prometheus. The queries are cluster-wide (one per metric, not per object):
  existing workloads + labels   kube_{deployment,statefulset,daemonset,cronjob,job}_labels at the scan time
  pod -> controller             last_over_time(kube_pod_owner[P]), kube_replicaset_owner, kube_job_owner
  running pods                  kube_pod_status_phase{phase="Running"} == 1 (krr: the rest are "deleted")
  containers                    last_over_time(kube_pod_container_info[P])
  requests / limits             last_over_time(kube_pod_container_resource_{requests,limits}[P])
  HPAs                          kube_horizontalpodautoscaler_{info,spec_target_metric,spec_*_replicas}
P is krr's load_pods window, so the pods found are the ones krr would query.
With a Kubernetes client, `confirm_with_kubernetes` keeps only workloads the API server has and takes
current resources and labels from the workloads' pod templates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from krr_operator.api.quantities import QuantityError, parse_resource_quantity

from .filters import parse_selector, selector_matches
from .models import HpaInfo, ScanRequest
from .promapi import PrometheusApi, PrometheusError, sample_value
from .promql import pods_period_literal, quote, regex_alternatives

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job")
DIRECT_OWNERS = {"StatefulSet", "DaemonSet"}


@dataclass(eq=False)
class Workload:
    namespace: str
    kind: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    pods: dict[str, bool] = field(default_factory=dict)  # pod -> deleted
    containers: list[str] = field(default_factory=list)
    current: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)  # container -> alloc
    hpa: HpaInfo | None = None
    controllers: list[str] = field(default_factory=list)  # ReplicaSets / Jobs (krr's pod owners)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.kind, self.name)


def namespace_matcher(request: ScanRequest) -> str:
    """`namespace=~"a|b"`, or every namespace but kube-system (krr's default)."""
    if request.namespaces:
        return f"namespace=~{quote(regex_alternatives(sorted(set(request.namespaces))))}"
    return 'namespace!="kube-system"'


def _labels_from_ksm(metric: dict[str, str]) -> dict[str, str]:
    return {k[len("label_") :]: v for k, v in metric.items() if k.startswith("label_")}


async def discover(api: PrometheusApi, request: ScanRequest, at: datetime) -> list[Workload]:
    """Every workload in scope with pods, containers, current resources and HPA (batched queries)."""
    ns = namespace_matcher(request)
    period = pods_period_literal(timedelta(hours=request.history_hours))
    res, utilization = 'resource=~"cpu|memory"', 'metric_target_type="utilization"'
    queries = {
        "labels": f'{{__name__=~"kube_(deployment|statefulset|daemonset|cronjob|job)_labels",{ns}}}',
        "pod_owner": f"last_over_time(kube_pod_owner{{{ns}}}[{period}])",
        "rs_owner": f"last_over_time(kube_replicaset_owner{{{ns}}}[{period}])",
        "job_owner": f"last_over_time(kube_job_owner{{{ns}}}[{period}])",
        "running": f'kube_pod_status_phase{{phase="Running",{ns}}} == 1',
        "containers": f"last_over_time(kube_pod_container_info{{{ns}}}[{period}])",
        "requests": f"last_over_time(kube_pod_container_resource_requests{{{res},{ns}}}[{period}])",
        "limits": f"last_over_time(kube_pod_container_resource_limits{{{res},{ns}}}[{period}])",
        "hpa_info": f"kube_horizontalpodautoscaler_info{{{ns}}}",
        "hpa_target": f"kube_horizontalpodautoscaler_spec_target_metric{{{utilization},{ns}}}",
        "hpa_min": f"kube_horizontalpodautoscaler_spec_min_replicas{{{ns}}}",
        "hpa_max": f"kube_horizontalpodautoscaler_spec_max_replicas{{{ns}}}",
    }
    names = list(queries)
    answers = await asyncio.gather(*(api.query(queries[n], at) for n in names))
    r = dict(zip(names, answers, strict=True))

    workloads: dict[tuple[str, str, str], Workload] = {}
    for series in r["labels"]:
        m = series["metric"]
        kind = {
            "kube_deployment_labels": "Deployment",
            "kube_statefulset_labels": "StatefulSet",
            "kube_daemonset_labels": "DaemonSet",
            "kube_cronjob_labels": "CronJob",
            "kube_job_labels": "Job",
        }.get(m.get("__name__", ""))
        name = m.get(kind.lower() if kind else "", "") if kind else ""
        if kind and name and m.get("namespace"):
            key = (m["namespace"], kind, name)
            workloads.setdefault(key, Workload(m["namespace"], kind, name, labels=_labels_from_ksm(m)))

    rs_owner = _owner_map(r["rs_owner"], "replicaset")
    job_owner = _owner_map(r["job_owner"], "job_name")
    running = {(s["metric"].get("namespace"), s["metric"].get("pod")) for s in r["running"]}
    pod_workload: dict[tuple[str, str], Workload] = {}
    for series in r["pod_owner"]:
        m = series["metric"]
        namespace, pod, kind, owner = (
            m.get("namespace"),
            m.get("pod"),
            m.get("owner_kind"),
            m.get("owner_name"),
        )
        if not (namespace and pod and kind and owner):
            continue
        target, controller = _resolve(namespace, kind, owner, rs_owner, job_owner)
        if target is None or target not in workloads:
            continue
        w = workloads[target]
        w.pods[pod] = (namespace, pod) not in running
        if controller and controller not in w.controllers:
            w.controllers.append(controller)
        pod_workload[(namespace, pod)] = w
    # Workloads whose owner chain exists even when no pod is in the window (krr queries them too).
    for (namespace, rs), (kind, owner) in rs_owner.items():
        parent = workloads.get((namespace, kind, owner))
        if parent is not None and rs not in parent.controllers:
            parent.controllers.append(rs)

    for series in r["containers"]:
        m = series["metric"]
        found = pod_workload.get((m.get("namespace", ""), m.get("pod", "")))
        container = m.get("container")
        if found is not None and container and container not in found.containers:
            found.containers.append(container)
    _current_resources(pod_workload, r["requests"], "requests")
    _current_resources(pod_workload, r["limits"], "limits")
    _attach_hpas(workloads, r)
    for w in workloads.values():
        w.containers.sort()
        for c in w.containers:
            w.current.setdefault(c, _empty_alloc())
    return sorted(workloads.values(), key=lambda w: w.key)


def _empty_alloc() -> dict[str, dict[str, float | None]]:
    return {"requests": {"cpu": None, "memory": None}, "limits": {"cpu": None, "memory": None}}


def _owner_map(result: list[dict[str, Any]], label: str) -> dict[tuple[str, str], tuple[str, str]]:
    out = {}
    for series in result:
        m = series["metric"]
        if m.get("namespace") and m.get(label) and m.get("owner_kind") and m.get("owner_name"):
            out[(m["namespace"], m[label])] = (m["owner_kind"], m["owner_name"])
    return out


def _resolve(
    namespace: str,
    kind: str,
    owner: str,
    rs_owner: dict[tuple[str, str], tuple[str, str]],
    job_owner: dict[tuple[str, str], tuple[str, str]],
) -> tuple[tuple[str, str, str] | None, str | None]:
    """(workload key, intermediate controller) for a pod owned by kind/owner."""
    if kind == "ReplicaSet":
        parent = rs_owner.get((namespace, owner))
        if parent and parent[0] == "Deployment":
            return (namespace, "Deployment", parent[1]), owner
        return None, None
    if kind == "Job":
        parent = job_owner.get((namespace, owner))
        if parent and parent[0] == "CronJob":
            return (namespace, "CronJob", parent[1]), owner
        return (namespace, "Job", owner), None
    if kind in DIRECT_OWNERS:
        return (namespace, kind, owner), None
    return None, None


def _current_resources(
    pod_workload: dict[tuple[str, str], Workload], result: list[dict[str, Any]], selector: str
) -> None:
    """Current requests/limits per container, from a running pod when there is one (first by name)."""
    candidates: dict[tuple[Workload, str, str], list[tuple[bool, str, float]]] = {}
    for series in result:
        m = series["metric"]
        w = pod_workload.get((m.get("namespace", ""), m.get("pod", "")))
        container, resource = m.get("container"), m.get("resource")
        if w is None or not container or resource not in ("cpu", "memory"):
            continue
        value = sample_value(series)
        try:
            parse_resource_quantity(repr(value), resource)
        except QuantityError as exc:
            raise PrometheusError(f"kube-state-metrics reports an impossible {selector}: {exc}") from None
        deleted = w.pods.get(m["pod"], True)
        candidates.setdefault((w, container, resource), []).append((deleted, m["pod"], value))
    for (w, container, resource), found in candidates.items():
        alloc = w.current.setdefault(container, _empty_alloc())
        alloc[selector][resource] = min(found)[2]


def _attach_hpas(workloads: dict[tuple[str, str, str], Workload], r: dict[str, list[dict[str, Any]]]) -> None:
    targets: dict[tuple[str, str], tuple[str, str, str]] = {}
    for series in r["hpa_info"]:
        m = series["metric"]
        key = (m.get("namespace", ""), m.get("scaletargetref_kind", ""), m.get("scaletargetref_name", ""))
        if key in workloads:
            targets[(key[0], m.get("horizontalpodautoscaler", ""))] = key
            workloads[key].hpa = HpaInfo(name=m.get("horizontalpodautoscaler"))
    for part, field_name in (("hpa_min", "min_replicas"), ("hpa_max", "max_replicas")):
        for series in r[part]:
            m = series["metric"]
            target = targets.get((m.get("namespace", ""), m.get("horizontalpodautoscaler", "")))
            hpa = workloads[target].hpa if target else None
            if target and hpa is not None:
                workloads[target].hpa = hpa.model_copy(update={field_name: int(sample_value(series))})
    for series in r["hpa_target"]:
        m = series["metric"]
        target = targets.get((m.get("namespace", ""), m.get("horizontalpodautoscaler", "")))
        hpa = workloads[target].hpa if target else None
        metric = m.get("metric_name")
        if target and hpa is not None and metric in ("cpu", "memory"):
            field_name = f"target_{metric}_utilization_percentage"
            workloads[target].hpa = hpa.model_copy(update={field_name: sample_value(series)})


def select(workloads: list[Workload], request: ScanRequest) -> list[Workload]:
    """Apply the request's kinds, names and label selector."""
    terms = parse_selector(request.label_selector)
    kinds = {k.lower() for k in request.kinds}
    out = []
    for w in workloads:
        if kinds and w.kind.lower() not in kinds:
            continue
        if request.names and w.name not in request.names:
            continue
        if terms and not selector_matches(terms, w.labels):
            continue
        out.append(w)
    return out


_API_LISTS = {
    "Deployment": ("AppsV1Api", "list_namespaced_deployment"),
    "StatefulSet": ("AppsV1Api", "list_namespaced_stateful_set"),
    "DaemonSet": ("AppsV1Api", "list_namespaced_daemon_set"),
    "CronJob": ("BatchV1Api", "list_namespaced_cron_job"),
    "Job": ("BatchV1Api", "list_namespaced_job"),
}


def _pod_spec(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _amount(value: Any, resource: str) -> float | None:
    if value is None:
        return None
    return float(parse_resource_quantity(str(value), resource))


async def confirm_with_kubernetes(
    workloads: list[Workload], api_client: Any, request: ScanRequest
) -> list[Workload]:
    """Keep workloads the API server has; take their labels and current resources from it (list calls)."""
    from kubernetes import client as k8s

    def fetch() -> dict[tuple[str, str, str], dict[str, Any]]:
        found: dict[tuple[str, str, str], dict[str, Any]] = {}
        kinds = {w.kind for w in workloads}
        for kind in kinds:
            group, namespaced = _API_LISTS[kind]
            api = getattr(k8s, group)(api_client)
            namespaces = sorted({w.namespace for w in workloads if w.kind == kind})
            items = []
            for ns in namespaces:
                items += api.api_client.sanitize_for_serialization(getattr(api, namespaced)(ns)).get(
                    "items", []
                )
            for obj in items:
                meta = obj.get("metadata") or {}
                found[(meta.get("namespace", ""), kind, meta.get("name", ""))] = obj
        return found

    found = await asyncio.to_thread(fetch)
    kept = []
    for w in workloads:
        obj = found.get(w.key)
        if obj is None:
            continue
        w.labels = dict((obj.get("metadata") or {}).get("labels") or {})
        containers = _pod_spec(w.kind, obj).get("containers") or []
        w.current = {}
        for c in containers:
            res = c.get("resources") or {}
            w.current[c["name"]] = {
                part: {r: _amount((res.get(part) or {}).get(r), r) for r in ("cpu", "memory")}
                for part in ("requests", "limits")
            }
        w.containers = sorted(w.current)
        kept.append(w)
    return kept
