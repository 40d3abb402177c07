"""Native engine: krr's simple strategy against Prometheus, with batched PromQL.

Batched (default): discovery is a dozen cluster-wide kube-state-metrics queries; usage is ONE query per
(namespace, metric), split client-side by pod and container; queries run concurrently under a bound.
Per-object (`query_mode="per_object"`, for the benchmark): krr's own pattern, per workload container:
its load_pods queries (ReplicaSets over the window as a range vector, pod owners, running pods) and the
four loader queries with `pod=~"<its pods>"` in batches of 50 pods.
Both compute the same numbers; a namespace (batched) or object (per-object) whose queries fail gets an
error on each of its containers and no recommendation: nothing is guessed from partial data.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from .discovery import (
    KINDS,
    ApiView,
    Workload,
    discover,
    list_from_kubernetes,
    pods_from_kubernetes,
    select,
)
from .models import ContainerScan, PodRef, ScanError, ScanRequest, ScanResult, ScanStats
from .promapi import PartialDataError, PrometheusApi, PrometheusError, range_values, sample_value
from .promql import (
    RANGE_METRICS,
    duration_literal,
    metric_query,
    pods_period_literal,
    quote,
    regex_alternatives,
    selector,
    set_chunks,
    step_literal,
)
from .service import ProgressCallback, report
from .simple_strategy import ContainerHistory, build_scan, resources_from

__all__ = ["PartialDataError", "PrometheusError", "krr_comparable", "scan_with_prometheus"]

PROMETHEUS_URL_ENV = "KRR_MCP_PROMETHEUS_URL"
KRR_PODS_BATCH = 50
KRR_OWNER_BATCH = 100
MAX_POD_REGEX = 1000
HISTORY_FIELDS = {
    "cpu_percentile": "cpu_percentile",
    "cpu_peak": "cpu_peak",
    "cpu_range": "cpu_values",
    "cpu_points": "cpu_points",
    "memory_peak": "memory_peak",
    "memory_points": "memory_points",
    "oomkill": "oomkill_limit",
}
Key = tuple[tuple[str, str, str], str]  # (workload key, container)


STRATEGIES = ("simple", "simple_limit")


def _metrics(request: ScanRequest) -> list[str]:
    """The loader queries: krr's, plus, for simple, the CPU peak of the percentile's subquery (evidence:
    cpuPeakCores; simple_limit reads its peak from the range query). per_object sends krr's queries and
    no others (it exists to compare with krr's query pattern), so there simple has no cpuPeakCores."""
    if request.strategy == "simple_limit":
        cpu = ["cpu_range"]
    elif request.query_mode == "per_object":
        cpu = ["cpu_percentile"]
    else:
        cpu = ["cpu_percentile", "cpu_peak"]
    names = [*cpu, "cpu_points", "memory_peak", "memory_points"]
    return [*names, "oomkill"] if request.use_oomkill_data else names


NOT_KRRS = {"usage": {"cpuPeakCores"}, "explanation": {"__all__": {"peak"}}}


def krr_comparable(item: ContainerScan) -> dict[str, Any]:
    """The item as JSON without what only the batched mode asks for simple (the CPU peak): what the
    batched and per_object modes must agree on."""
    return item.model_dump(mode="json", exclude=NOT_KRRS)  # type: ignore[arg-type]


def _settings(request: ScanRequest) -> dict[str, Any]:
    """The strategy's settings under krr's names."""
    cpu: dict[str, Any] = (
        {"cpu_request": request.cpu_request_percentile, "cpu_limit": request.cpu_limit_percentile}
        if request.strategy == "simple_limit"
        else {"cpu_percentile": request.cpu_percentile}
    )
    return {
        "history_duration": request.history_hours,
        "timeframe_duration": request.timeframe_minutes,
        **cpu,
        "memory_buffer_percentage": request.memory_buffer_pct,
        "points_required": request.points_required,
        "allow_hpa": request.allow_hpa,
        "use_oomkill_data": request.use_oomkill_data,
        "oom_memory_buffer_percentage": request.oom_memory_buffer_pct,
    }


def split_by_target(
    result: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any] = sample_value
) -> dict[tuple[str, str], Any]:
    """{(pod, container): value}, one series per target: krr's job filter (kubelet, else first job).
    `value` reads a series (range_values for a range query)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for series in result:
        m = series["metric"]
        if m.get("pod") and m.get("container"):
            groups.setdefault((m["pod"], m["container"]), []).append(series)
    out = {}
    for target, candidates in groups.items():
        kubelet = [s for s in candidates if s["metric"].get("job") == "kubelet"]
        chosen = (
            kubelet[0]
            if len(kubelet) == 1
            else sorted(candidates, key=lambda s: s["metric"].get("job", ""))[0]
        )
        out[target] = value(chosen)
    return out


def pods_with_duplicate_series(result: list[dict[str, Any]]) -> set[str]:
    """Pods where one (container, pod, job) has several series (krr's `max by` would merge them)."""
    seen: set[tuple[str, str, str]] = set()
    duplicated: set[str] = set()
    for series in result:
        m = series["metric"]
        key = (m.get("container", ""), m.get("pod", ""), m.get("job", ""))
        if key in seen and key[1]:  # a series without a pod is dropped anyway (split_by_target)
            duplicated.add(key[1])
        seen.add(key)
    return duplicated


class _Scan:
    """One native scan's state: the API, the time, the literals, the histories found so far."""

    def __init__(
        self, api: PrometheusApi, request: ScanRequest, at: datetime, progress: ProgressCallback | None
    ):
        self.api = api
        self.request = request
        self.at = at
        self.progress = progress
        period = timedelta(hours=request.history_hours)
        self.duration = duration_literal(period)
        self.step = step_literal(timedelta(minutes=request.timeframe_minutes))
        self.pods_period = pods_period_literal(period)
        # krr's range queries end at the minute (utcnow without seconds) and span the history.
        self.range_end = at.replace(second=0, microsecond=0)
        self.range_start = self.range_end - period
        self.step_seconds = round(timedelta(minutes=request.timeframe_minutes).total_seconds())
        self.histories: dict[Key, ContainerHistory] = {}
        self.errors: dict[Key, str] = {}
        self.pods: dict[tuple[str, str, str], dict[str, bool]] = {}
        self.done = 0
        self.total = 0
        self.workload_count = 0

    async def _progress(self, what: str) -> None:
        await report(
            self.progress,
            self.done,
            self.total,
            f"{what}: {self.done} of {self.total} containers ({self.workload_count} workloads) scanned",
        )

    def _store(
        self, w: Workload, metric: str, values: dict[tuple[str, str], float], pods: Iterable[str]
    ) -> None:
        wanted = set(pods)
        for (pod, container), value in values.items():
            if pod in wanted and container in w.containers:
                history = self.histories.setdefault((w.key, container), ContainerHistory())
                getattr(history, HISTORY_FIELDS[metric])[pod] = value

    async def batched(self, workloads: list[Workload], everything: list[Workload]) -> None:
        by_ns: dict[str, list[Workload]] = {}
        for w in workloads:
            by_ns.setdefault(w.namespace, []).append(w)
        total_in_ns: dict[str, int] = {}
        for w in everything:
            total_in_ns[w.namespace] = total_in_ns.get(w.namespace, 0) + 1
        # A namespace's answers are held until all its metrics are in: a few namespaces at a time keep
        # the query slots busy without holding every namespace's answers at once (at 10,000 containers
        # that was over 100 MB of decoded JSON at the peak).
        slots = asyncio.Semaphore(-(-self.request.max_concurrency // len(_metrics(self.request))) + 1)

        async def one(ns: str, ws: list[Workload]) -> None:
            async with slots:
                await self._namespace(ns, ws, len(ws) < total_in_ns[ns])

        await asyncio.gather(*(one(ns, ws) for ns, ws in by_ns.items()))

    async def _namespace(self, ns: str, workloads: list[Workload], narrowed: bool) -> None:
        pods = sorted({p for w in workloads for p in w.pods})
        for w in workloads:
            self.pods[w.key] = dict(w.pods)
        # Exact set matchers of the containers asked about (chunked past MAX_SET_MATCH names), never
        # `container!=""`/`pod!=""`: Prometheus resolves those through every value of the label in
        # the whole TSDB, so each namespace's query cost grew with the cluster.
        containers = set_chunks(c for w in workloads for c in w.containers)
        try:
            if containers and (pods or not narrowed):
                metrics = _metrics(self.request)
                # A narrowed scan names its pods; past MAX_POD_REGEX pods the whole namespace is cheaper
                # than a huge regex (answers are filtered by pod client-side either way).
                narrow = narrowed and len(pods) <= MAX_POD_REGEX
                asked = pods if narrow else None
                answers = await self._ask_sets(metrics, ns, asked, containers, aggregate=False)
                duplicated = sorted({pod for result in answers for pod in pods_with_duplicate_series(result)})
                if len(duplicated) > MAX_POD_REGEX:  # so many: krr's exact queries for the namespace
                    answers = await self._ask_sets(metrics, ns, asked, containers, aggregate=True)
                elif duplicated:  # krr's exact `max by` for those pods only
                    exact = await self._ask_sets(metrics, ns, duplicated, containers, aggregate=True)
                    redo = set(duplicated)
                    answers = [
                        [s for s in result if s["metric"].get("pod") not in redo] + again
                        for result, again in zip(answers, exact, strict=True)
                    ]
                for metric, result in zip(metrics, answers, strict=True):
                    values = split_by_target(
                        result, range_values if metric in RANGE_METRICS else sample_value
                    )
                    for w in workloads:
                        self._store(w, metric, values, w.pods)
        except PrometheusError as exc:
            for w in workloads:
                for c in w.containers:
                    self.errors[(w.key, c)] = f"namespace {ns}: {exc}"
        self.done += sum(len(w.containers) for w in workloads)
        await self._progress(f"namespace {ns}")

    async def _ask_sets(
        self,
        metrics: list[str],
        ns: str,
        pods: list[str] | None,
        containers: list[list[str]],
        aggregate: bool,
    ) -> list[list[dict[str, Any]]]:
        """Each metric's answer for namespace `ns`, one query per container chunk, concatenated (the
        chunks are disjoint, so no (container, pod, job) is split between them)."""
        parts = await asyncio.gather(
            *(self._ask(metrics, selector(ns, pods, None, chunk), aggregate) for chunk in containers)
        )
        return [[s for part in parts for s in part[i]] for i in range(len(metrics))]

    async def _ask(self, metrics: list[str], sel: str, aggregate: bool) -> list[list[dict[str, Any]]]:
        pct = self.request.cpu_percentile
        return list(
            await asyncio.gather(
                *(
                    self._fetch(m, metric_query(m, sel, self.duration, self.step, pct, aggregate))
                    for m in metrics
                )
            )
        )

    async def _fetch(self, metric: str, promql: str) -> list[dict[str, Any]]:
        """One loader query: a range query for simple_limit's CPU samples, else an instant query."""
        if metric in RANGE_METRICS:
            return await self.api.query_range(promql, self.range_start, self.range_end, self.step_seconds)
        return await self._query(promql)

    async def _query(self, promql: str) -> list[dict[str, Any]]:
        return await self.api.query(promql, self.at)

    async def per_object(self, workloads: list[Workload]) -> None:
        await asyncio.gather(*(self._object(w, c) for w in workloads for c in w.containers))

    async def _object(self, w: Workload, container: str) -> None:
        try:
            pods = await self._krr_load_pods(w) or (dict(w.pods) if w.pods_from_api else {})
            self.pods[w.key] = pods
            names = sorted(pods)
            for metric in _metrics(self.request):
                for lo in range(0, len(names), KRR_PODS_BATCH):
                    batch = names[lo : lo + KRR_PODS_BATCH]
                    promql = metric_query(
                        metric,
                        selector(w.namespace, batch, container),
                        self.duration,
                        self.step,
                        self.request.cpu_percentile,
                    )
                    read = range_values if metric in RANGE_METRICS else sample_value
                    self._store(w, metric, split_by_target(await self._fetch(metric, promql), read), batch)
        except PrometheusError as exc:
            self.errors[(w.key, container)] = str(exc)
        self.done += 1
        await self._progress(f"{w.kind} {w.namespace}/{w.name} {container}")

    async def _krr_load_pods(self, w: Workload) -> dict[str, bool]:
        """krr's PrometheusMetricsService.load_pods, query for query: {pod: deleted}."""
        ns, period = quote(w.namespace), self.pods_period
        owner_kind: str
        if w.kind in ("Deployment", "CronJob"):
            metric, label, owner_kind = (
                ("kube_replicaset_owner", "replicaset", "ReplicaSet")
                if w.kind == "Deployment"
                else ("kube_job_owner", "job_name", "Job")
            )
            promql = (
                f"{metric}{{owner_name={quote(w.name)},owner_kind={quote(w.kind)},namespace={ns}}}[{period}]"
            )
            owners = sorted({s["metric"][label] for s in await self._query(promql) if label in s["metric"]})
        else:
            owners, owner_kind = [w.name], w.kind
        related: list[str] = []
        for lo in range(0, len(owners), KRR_OWNER_BATCH):
            regex = quote(regex_alternatives(owners[lo : lo + KRR_OWNER_BATCH]))
            promql = (
                f"last_over_time(kube_pod_owner{{owner_name=~{regex},owner_kind={quote(owner_kind)},"
                f"namespace={ns}}}[{period}])"
            )
            related += [s["metric"]["pod"] for s in await self._query(promql) if "pod" in s["metric"]]
        running: set[str] = set()
        for lo in range(0, len(related), KRR_OWNER_BATCH):
            regex = quote(regex_alternatives(related[lo : lo + KRR_OWNER_BATCH]))
            promql = f'kube_pod_status_phase{{phase="Running",pod=~{regex},namespace={ns}}} == 1'
            running |= {s["metric"]["pod"] for s in await self._query(promql) if "pod" in s["metric"]}
        return {pod: pod not in running for pod in related}

    def items(self, workloads: list[Workload]) -> list[ContainerScan]:
        out = []
        for w in workloads:
            pods = [PodRef(name=p, deleted=d) for p, d in sorted(self.pods.get(w.key, w.pods).items())]
            for c in w.containers:
                current = w.current.get(c) or {"requests": {}, "limits": {}}
                error = self.errors.get((w.key, c))
                if error is not None:
                    out.append(
                        ContainerScan(
                            namespace=w.namespace,
                            kind=w.kind,
                            name=w.name,
                            container=c,
                            pods=pods,
                            current=resources_from(current),
                            unknown=["cpu", "memory"],
                            hpa=w.hpa,
                            labels=w.labels,
                            error=error,
                        )
                    )
                    continue
                history = self.histories.get((w.key, c), ContainerHistory())
                warnings = []
                if not history.cpu_percentile:
                    warnings.append("NoPrometheusCPUMetrics")
                if not history.memory_peak:
                    warnings.append("NoPrometheusMemoryMetrics")
                if not pods or (w.pods_from_api and self.pods.get(w.key) == w.pods):
                    warnings.append("NoPrometheusPods")
                out.append(
                    build_scan(
                        namespace=w.namespace,
                        kind=w.kind,
                        name=w.name,
                        container=c,
                        pods=pods,
                        current=current,
                        history=history,
                        hpa=w.hpa,
                        request=self.request,
                        labels=w.labels,
                        warnings=warnings,
                    )
                )
        return out


async def _pods_from_api(kube_api: Any, known: ApiView, workloads: list[Workload]) -> list[ScanError]:
    """krr's fallback for workloads kube-state-metrics knows no pods of: the API's pods now."""
    missing = [w for w in workloads if not w.pods]
    if not missing:
        return []
    try:
        found = await asyncio.to_thread(pods_from_kubernetes, kube_api, known, missing)
    except Exception as exc:
        return [
            ScanError(
                scope="scan",
                message=f"could not list pods through the Kubernetes API ({exc.__class__.__name__}: "
                f"{str(exc)[:300]}) for {len(missing)} workload(s) kube-state-metrics knows no pods of",
            )
        ]
    for w in missing:
        names = found.get("/".join(w.key))
        if names:
            w.pods = dict.fromkeys(names, False)
            w.pods_from_api = True
    return []


def nothing_found(
    request: ScanRequest, known: ApiView | None, everything: list[Workload], at: datetime
) -> str:
    """Why a scan has no workload (a scan-level error: never a silent "0 containers, 0 errors")."""
    where = f"namespaces {', '.join(request.namespaces)}" if request.namespaces else "any namespace"
    if everything:
        return (
            f"{len(everything)} workload(s) found in {where}, none matching kinds {request.kinds or 'any'}, "
            f"names {request.names or 'any'}, label selector {request.label_selector or 'none'}"
        )
    if known is not None:
        return f"the Kubernetes API lists no {', '.join(KINDS)} in {where}"
    return (
        f"no workload found: kube-state-metrics has no kube_*_labels series in {where} at "
        f"{at.isoformat(timespec='seconds')} (not installed, not scraped, or stopped more than 5 minutes "
        "earlier: its series are then stale) and the engine has no Kubernetes API access to list them"
    )


async def scan_with_prometheus(
    request: ScanRequest,
    *,
    progress: ProgressCallback | None = None,
    kube_api: Any = None,
    transport: Any = None,
) -> ScanResult:
    """Run krr's simple or simple_limit strategy on Prometheus (request.prometheus_url, else
    $KRR_MCP_PROMETHEUS_URL).

    Raises PrometheusError when discovery fails (nothing can be scanned); later failures become
    per-container errors. With `kube_api` (a kubernetes ApiClient) workloads, containers, current
    resources, labels and HPAs come from the API, as krr reads them (see discovery.py).
    """
    if request.strategy not in STRATEGIES:
        raise PrometheusError(
            f"the native engine implements krr's {' and '.join(STRATEGIES)} strategies, "
            f"not {request.strategy!r}"
        )
    url = request.prometheus_url or os.environ.get(PROMETHEUS_URL_ENV)
    if not url:
        raise PrometheusError(
            f"no Prometheus URL: set prometheus_url in the request or ${PROMETHEUS_URL_ENV}"
        )
    at = request.end_time or datetime.now(UTC)
    started = time.perf_counter()
    async with PrometheusApi(
        url, timeout=request.timeout_seconds, max_concurrency=request.max_concurrency, transport=transport
    ) as api:
        notes: list[ScanError] = []
        known: ApiView | None = None
        if kube_api is not None:
            try:
                known = await asyncio.to_thread(list_from_kubernetes, kube_api, request)
            except Exception as exc:  # the API is optional: say so and use kube-state-metrics
                notes.append(
                    ScanError(
                        scope="scan",
                        message=f"could not list workloads through the Kubernetes API "
                        f"({exc.__class__.__name__}: {str(exc)[:300]}); workloads, labels and current "
                        "resources come from kube-state-metrics",
                    )
                )
            for kind, why in (known.refused if known is not None else {}).items():
                notes.append(
                    ScanError(
                        scope="scan",
                        message=f"the Kubernetes API would not list {kind}s ({why}): none are scanned "
                        "(krr skips them too)",
                    )
                )
            if known is not None and known.hpa_error:
                notes.append(
                    ScanError(
                        scope="scan",
                        message=f"could not list HPAs through the Kubernetes API ({known.hpa_error}); "
                        "HPAs come from kube-state-metrics",
                    )
                )
        everything = await discover(api, request, at, known)
        if known is not None:
            notes += await _pods_from_api(kube_api, known, select(everything, request))
        workloads = select(everything, request)
        if not workloads:
            notes.append(ScanError(scope="scan", message=nothing_found(request, known, everything, at)))
        scan = _Scan(api, request, at, progress)
        scan.total = sum(len(w.containers) for w in workloads)
        scan.workload_count = len(workloads)
        if request.query_mode == "batched":
            await scan.batched(workloads, everything)
        else:
            await scan.per_object(workloads)
        items = scan.items(workloads)
        stats = ScanStats(
            prometheus_requests=api.requests,
            prometheus_bytes=api.bytes,
            duration_seconds=time.perf_counter() - started,
            query_mode=request.query_mode,
        )
    errors = notes + [
        ScanError(
            scope="container", message=i.error, namespace=i.namespace, name=i.name, container=i.container
        )
        for i in items
        if i.error
    ]
    errors += [
        ScanError(
            scope="workload",
            message="no pods or containers in the kube-state-metrics history",
            namespace=w.namespace,
            name=w.name,
        )
        for w in workloads
        if not w.containers
    ]
    result = ScanResult(
        items=items,
        source="native",
        strategy=request.strategy,
        settings=_settings(request),
        errors=errors,
        stats=stats,
    )
    return result.with_summary()
