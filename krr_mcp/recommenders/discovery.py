"""Find workloads, their pods and containers, current resources and HPAs.

With a Kubernetes client (as krr does): workloads, containers, current resources, labels and HPAs come
from the API (`list_from_kubernetes`); kube-state-metrics gives the pod -> controller links over the
history window, and when it knows no pod of a workload the API's pods are used (krr's fallback,
warning NoPrometheusPods). Without one, or when the API cannot be listed, everything comes from
kube-state-metrics series. The queries are cluster-wide (one per metric, not per object):
  existing workloads + labels   kube_{deployment,statefulset,daemonset,cronjob,job}_labels at the scan time
  pod -> controller             last_over_time(kube_pod_owner[P]), kube_replicaset_owner, kube_job_owner
  running pods                  kube_pod_status_phase{phase="Running"} == 1 (krr: the rest are "deleted")
  containers                    last_over_time(kube_pod_container_info[P])
  requests / limits             last_over_time(kube_pod_container_resource_{requests,limits}[P])
  HPAs                          kube_horizontalpodautoscaler_{info,spec_target_metric,spec_*_replicas}
P is krr's load_pods window, so the pods found are the ones krr would query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from krr_mcp.api.quantities import QuantityError, parse_resource_quantity
from krr_mcp.api.workload_kinds import WORKLOAD_KINDS
from krr_mcp.kube.client import Forbidden, Kube, NotFound, list_path

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
    pods_from_api: bool = False  # Prometheus knew none: the API's pods (krr's NoPrometheusPods)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.kind, self.name)


def namespace_matcher(request: ScanRequest) -> str:
    """`namespace=~"a|b"`, or every namespace but kube-system (krr's default)."""
    if request.namespaces:
        return f"namespace=~{quote(regex_alternatives(sorted(set(request.namespaces))))}"
    return 'namespace!="kube-system"'


def _in_namespaces(namespace: str, request: ScanRequest) -> bool:
    return namespace in request.namespaces if request.namespaces else namespace != "kube-system"


def _labels_from_ksm(metric: dict[str, str]) -> dict[str, str]:
    return {k[len("label_") :]: v for k, v in metric.items() if k.startswith("label_")}


async def discover(
    api: PrometheusApi, request: ScanRequest, at: datetime, known: ApiView | None = None
) -> list[Workload]:
    """Every workload in scope with pods, containers, current resources and HPA (batched queries).

    `known`: the API's view; its workloads are the ones scanned (kube-state-metrics then only links
    pods to them) and its HPAs are used unless they could not be listed."""
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
    if known is not None:
        for name in ("labels", "containers", "requests", "limits"):
            del queries[name]
        if known.hpas is not None:
            for name in ("hpa_info", "hpa_target", "hpa_min", "hpa_max"):
                del queries[name]
    names = list(queries)
    answers = await asyncio.gather(*(api.query(queries[n], at) for n in names))
    r = dict(zip(names, answers, strict=True))

    workloads: dict[tuple[str, str, str], Workload] = {}
    if known is not None:
        workloads = {key: w for key, w in known.workloads.items() if _in_namespaces(key[0], request)}
    for series in r.get("labels", []):
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

    if known is None:
        for series in r["containers"]:
            m = series["metric"]
            found = pod_workload.get((m.get("namespace", ""), m.get("pod", "")))
            container = m.get("container")
            if found is not None and container and container not in found.containers:
                found.containers.append(container)
        _current_resources(pod_workload, r["requests"], "requests")
        _current_resources(pod_workload, r["limits"], "limits")
    if known is not None and known.hpas is not None:
        for key, w in workloads.items():
            w.hpa = known.hpas.get(key)
    else:
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


# --- The Kubernetes API (krr's own source of workloads and HPAs) -------------------------------------
# Listed with the plain JSON client (krr_mcp.kube.client.Kube): the kubernetes package's generated API
# and model classes are never imported (they cost about 30 MB of memory in every bridge process).

_JOB = ("batch/v1", "jobs")
_API_LISTS: dict[str, tuple[str, str]] = {  # kind -> (apiVersion, plural)
    **{kind: (info.api_version, info.plural) for kind, info in WORKLOAD_KINDS.items()},
    "Job": _JOB,
}
_HPA_VERSIONS = ("autoscaling/v2", "autoscaling/v1")  # krr: autoscaling/v2, v1 when v2 answers 404
_HPA_PLURAL = "horizontalpodautoscalers"


@dataclass
class ApiView:
    """What the API server listed: workloads (with containers, resources, labels, selectors) and HPAs.

    `hpas` is None when they could not be listed (`hpa_error` says why); the caller then falls back to
    kube-state-metrics' HPA series."""

    workloads: dict[tuple[str, str, str], Workload]
    hpas: dict[tuple[str, str, str], HpaInfo] | None
    hpa_error: str | None = None
    refused: dict[str, str] = field(default_factory=dict)  # kind -> why the API would not list it
    selectors: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    uids: dict[tuple[str, str, str], str] = field(default_factory=dict)


def _pod_spec(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _amount(value: Any, resource: str) -> float | None:
    if value is None:
        return None
    return float(parse_resource_quantity(str(value), resource))


def hpa_from_api(obj: dict[str, Any]) -> tuple[tuple[str, str, str], HpaInfo]:
    """(target key, HpaInfo) from an autoscaling/v2 or v1 HPA, by krr's rule: the target utilization
    of a resource is `target.averageUtilization` of the FIRST `Resource` metric naming it (v1:
    spec.targetCPUUtilizationPercentage); an HPA on AverageValue/Value, or on ContainerResource,
    External, Pods or Object metrics, leaves that resource's recommendation alone."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}

    def target(resource: str) -> float | None:
        if "metrics" not in spec and "targetCPUUtilizationPercentage" in spec:  # autoscaling/v1
            value = spec["targetCPUUtilizationPercentage"] if resource == "cpu" else None
        else:
            first = next(
                (
                    m
                    for m in spec.get("metrics") or []
                    if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == resource
                ),
                None,
            )
            value = ((first or {}).get("resource") or {}).get("target", {}).get("averageUtilization")
        return None if value is None else float(value)

    key = (str(meta.get("namespace", "")), str(ref.get("kind", "")), str(ref.get("name", "")))
    return key, HpaInfo(
        name=meta.get("name"),
        min_replicas=spec.get("minReplicas"),
        max_replicas=spec.get("maxReplicas"),
        current_replicas=status.get("currentReplicas"),
        desired_replicas=status.get("desiredReplicas"),
        target_cpu_utilization_percentage=target("cpu"),
        target_memory_utilization_percentage=target("memory"),
    )


LIST_PAGE = 500
"""Items per list request (`limit`/`continue`): a whole list decoded at once was the scan's peak (10,000
containers: the Deployments alone briefly took over 100 MB); a page at a time is turned into Workloads."""


def _paged(kube: Kube, what: str, path: str) -> Iterator[dict[str, Any]]:
    """The items of the list at `path`, LIST_PAGE per request (the client's chunked read). KubeError
    while iterating."""
    for items, _ in kube.list_chunks(what, path, chunk=LIST_PAGE):
        yield from items


def _list(api_client: Any, api_version: str, plural: str, request: ScanRequest) -> Iterator[dict[str, Any]]:
    """Raw items (dicts, as the API server sent them) in the request's namespaces, or in every namespace
    but kube-system (krr's default), a page at a time. KubeError (krr_mcp.kube.client) when a list fails
    (raised while iterating)."""
    kube = Kube(api_client)
    for ns in sorted(set(request.namespaces)) if request.namespaces else [None]:
        for item in _paged(kube, f"list {plural}", list_path(api_version, plural, ns)):
            if ns is not None or (item.get("metadata") or {}).get("namespace") != "kube-system":
                yield item


def _workload(kind: str, obj: dict[str, Any]) -> Workload:
    """The Workload (containers, current resources, labels) of a workload object as listed."""
    meta = obj.get("metadata") or {}
    w = Workload(str(meta.get("namespace", "")), kind, str(meta.get("name", "")))
    w.labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    for c in _pod_spec(kind, obj).get("containers") or []:
        res = c.get("resources") or {}
        w.current[c["name"]] = {
            part: {r: _amount((res.get(part) or {}).get(r), r) for r in ("cpu", "memory")}
            for part in ("requests", "limits")
        }
    w.containers = sorted(w.current)
    return w


def list_from_kubernetes(api_client: Any, request: ScanRequest) -> ApiView:
    """Workloads and HPAs through the API, as krr lists them (blocking: run it in a thread).

    Jobs owned by a CronJob are the CronJob's, not workloads of their own (krr). A kind the API refuses
    (403) or does not serve (404) is skipped and named in `refused`, as krr skips it (nothing of that
    kind is kept, even when some pages or namespaces were listed); any other failed workload list
    raises. A failed HPA list is reported in `hpa_error` (krr would assume "no HPA")."""
    view = ApiView(workloads={}, hpas=None)
    for kind, (api_version, plural) in _API_LISTS.items():
        found: list[tuple[Workload, dict[str, Any], str]] = []
        try:
            for obj in _list(api_client, api_version, plural, request):
                meta = obj.get("metadata") or {}
                owners = meta.get("ownerReferences") or []
                if kind == "Job" and any(o.get("kind") == "CronJob" for o in owners):
                    continue
                selector = (obj.get("spec") or {}).get("selector") or {}
                found.append((_workload(kind, obj), selector, str(meta.get("uid", ""))))
        except (Forbidden, NotFound) as exc:  # krr too skips a kind it may not list (or that is not served)
            view.refused[kind] = f"{exc.status} {HTTPStatus(exc.status or 0).phrase}"
            continue
        for w, selector, uid in found:
            view.workloads[w.key] = w
            view.selectors[w.key] = selector
            view.uids[w.key] = uid
    try:
        try:
            hpas = list(_list(api_client, _HPA_VERSIONS[0], _HPA_PLURAL, request))
        except NotFound:
            hpas = list(_list(api_client, _HPA_VERSIONS[1], _HPA_PLURAL, request))
        view.hpas = dict(hpa_from_api(h) for h in hpas)  # krr: the last HPA listed for a target wins
    except Exception as exc:  # krr assumes no HPA here; we fall back to kube-state-metrics and say so
        view.hpa_error = f"{exc.__class__.__name__}: {str(exc)[:300]}"
    return view


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels, matchExpressions) against labels; an empty selector matches nothing
    (krr lists no pods for it)."""
    match, expressions = selector.get("matchLabels") or {}, selector.get("matchExpressions") or []
    if not match and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for e in expressions:
        key, op, values = e.get("key", ""), str(e.get("operator", "")).lower(), e.get("values") or []
        if (
            (op == "in" and labels.get(key) not in values)
            or (op == "notin" and key in labels and labels[key] in values)
            or (op == "exists" and key not in labels)
            or (op == "doesnotexist" and key in labels)
        ):
            return False
    return True


def pods_from_kubernetes(api_client: Any, view: ApiView, workloads: list[Workload]) -> dict[str, list[str]]:
    """krr's fallback when Prometheus knows no pods of a workload: its pods as the API lists them now
    (label selector; a CronJob's through the Jobs it owns). {workload key as text: [pod]}; blocking."""
    kube = Kube(api_client)
    found: dict[str, list[str]] = {}
    for ns in sorted({w.namespace for w in workloads}):
        pods = list(_paged(kube, f"list pods in {ns}", list_path("v1", "pods", ns)))
        jobs: list[dict[str, Any]] = []
        if any(w.kind == "CronJob" for w in workloads if w.namespace == ns):
            jobs = list(_paged(kube, f"list jobs in {ns}", list_path(*_JOB, ns)))
        for w in (w for w in workloads if w.namespace == ns):
            owned = _jobs_of(jobs, view.uids.get(w.key)) if w.kind == "CronJob" else set()
            selector = view.selectors.get(w.key) or {}

            def mine(pod: dict[str, Any]) -> bool:
                meta = pod.get("metadata") or {}
                if w.kind == "CronJob":  # noqa: B023 (used within this iteration)
                    refs = meta.get("ownerReferences") or []
                    return any(o.get("kind") == "Job" and o.get("name") in owned for o in refs)  # noqa: B023
                return _selector_matches(selector, meta.get("labels") or {})  # noqa: B023

            names = sorted(str((p.get("metadata") or {}).get("name")) for p in pods if mine(p))
            if names:
                found["/".join(w.key)] = names
    return found


def _jobs_of(jobs: list[dict[str, Any]], cronjob_uid: str | None) -> set[str]:
    """Names of the Jobs a CronJob (by uid) owns."""
    return {
        str((j.get("metadata") or {}).get("name"))
        for j in jobs
        if any(
            o.get("kind") == "CronJob" and o.get("uid") == cronjob_uid
            for o in (j.get("metadata") or {}).get("ownerReferences") or []
        )
    }
