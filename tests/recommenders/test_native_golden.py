"""Golden test: the native engine on a real Prometheus equals krr's algorithm computed here, independently,
from the raw samples written into that Prometheus.

The expectation follows PromQL's semantics step by step (plain Python, no engine code):
  subquery steps   multiples of STEP in [T - D, T]
  rate(x[STEP])    samples in [t - STEP, t], Prometheus' extrapolatedRate (needs 2 samples)
  instant vector   the newest sample in [t - 5m, t] (lookback)
  quantile         sort, rank = q * (n - 1), linear interpolation
and krr's rules: max over pods, sum of points >= 100, HPA, x1.15, ceil to 1m / 1MiB, floors 10m / 100Mi.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import pytest

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.metrics_history import container_samples
from krr_mcp.metrics_history.spec import HistorySpec, PodSpec, WorkloadSpec
from krr_mcp.recommenders import ContainerScan, ScanRequest, explain, get_recommendations
from krr_mcp.recommenders.native import krr_comparable

from .conftest import GoldenPrometheus
from .golden_cluster import EVAL_AT

STEP = 75  # krr's default timeframe: 1.25 minutes
LOOKBACK = 300
MIB = 1024 * 1024


def extrapolated_rate(
    samples: list[tuple[int, float]], range_start: int, range_end: int, range_s: int
) -> float:
    """Prometheus 2.x extrapolatedRate for a counter, times in seconds (converted as Prometheus does)."""
    first_t, first_v = samples[0]
    last_t, last_v = samples[-1]
    result = last_v - first_v
    prev = first_v
    for _, v in samples[1:]:
        if v < prev:
            result += prev
        prev = v
    duration_to_start = (first_t - range_start) * 1000 / 1000
    duration_to_end = (range_end - last_t) * 1000 / 1000
    sampled = (last_t - first_t) * 1000 / 1000
    average = sampled / (len(samples) - 1)
    if result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        if to_zero < duration_to_start:
            duration_to_start = to_zero
    threshold = average * 1.1
    interval = sampled
    interval += duration_to_start if duration_to_start < threshold else average / 2
    interval += duration_to_end if duration_to_end < threshold else average / 2
    return result * (interval / sampled) / float(range_s)


def quantile(q: float, values: list[float]) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(len(ordered) - 1.0, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


def steps(at: int, duration: int) -> list[int]:
    first = -(-(at - duration) // STEP) * STEP
    return list(range(first, at + 1, STEP))


def latest(samples: list[tuple[int, float]], t: int) -> float | None:
    found = [v for ts, v in samples if t - LOOKBACK <= ts <= t]
    return found[-1] if found else None


def pods_in_window(spec: HistorySpec, w: WorkloadSpec, history_s: int) -> list[PodSpec]:
    """krr's load_pods: pods whose kube_pod_owner has a sample in the window."""
    at = EVAL_AT
    return [
        p for p in w.pods if any(at - history_s <= ts <= at for ts in range(p.start, p.end + 1, spec.step))
    ]


@dataclass
class Expected:
    cpu: Decimal | None  # cores after rounding/floor; None = "?"
    memory: Decimal | None  # bytes
    cpu_info: str | None = None
    memory_info: str | None = None
    points: int = 0
    cpu_peak: float | None = None  # the highest rate sample over pods (simple's cpuPeakCores)


def expected_for(
    spec: HistorySpec, w: WorkloadSpec, container: str, history_s: int, *, oomkill: bool = False
) -> Expected:
    at = EVAL_AT
    c = next(c for c in w.containers if c.name == container)
    grid = steps(at, history_s)
    pods = pods_in_window(spec, w, history_s)
    cpu_per_pod, peak_per_pod, cpu_peaks, points = [], [], [], 0
    for pod in pods:
        # One or two series (ContainerSpec.duplicate_series); krr takes the max over them at each step.
        series = [container_samples(spec, w, pod, c, duplicate) for duplicate in (False, True)]
        series = [(cpu, memory) for cpu, memory in series if cpu]
        rates = []
        for t in grid:
            at_t = [
                extrapolated_rate(window, t - STEP, t, STEP)
                for window in ([(ts, v) for ts, v in cpu if t - STEP <= ts <= t] for cpu, _ in series)
                if len(window) >= 2
            ]
            if at_t:
                rates.append(max(at_t))
        if rates:
            cpu_per_pod.append(quantile(0.95, rates))
            cpu_peaks.append(max(rates))
        present = []
        for t in grid:
            values = [v for v in (latest(memory, t) for _, memory in series) if v is not None]
            if values:
                present.append(max(values))
        points += len(present)  # the same for the cpu counter: same timestamps
        if present:
            peak_per_pod.append(max(present))
    out = Expected(cpu=None, memory=None, points=points, cpu_peak=max(cpu_peaks, default=None))
    if points < 100:
        out.cpu_info = out.memory_info = "Not enough data"
        return out
    if w.hpa is not None and w.hpa.target_cpu_utilization is not None:
        out.cpu_info = "HPA detected"
    else:
        millis = max(math.ceil(max(cpu_per_pod) * 10**3), 10)
        out.cpu = Decimal(millis) / 1000
    raw = max(peak_per_pod) * (1 + 15 / 100)
    if oomkill and c.oom_killed and c.limits.get("memory"):
        raw = max(raw, (c.limits["memory"] or 0) * (1 + 25 / 100))
        out.memory_info = "OOMKill detected"
    out.memory = Decimal(max(math.ceil(raw / MIB), 100) * MIB)
    return out


def _scan_map(items: list[ContainerScan]) -> dict[tuple[str, str, str], ContainerScan]:
    return {(i.namespace, i.name, i.container): i for i in items}


async def _scan(golden: GoldenPrometheus, **kw: object) -> list[ContainerScan]:
    request = ScanRequest(
        source="native",
        prometheus_url=golden.url,
        history_hours=golden.history_hours,
        end_time=golden.at,
        **kw,
    )  # type: ignore[arg-type]
    result = await get_recommendations(request)
    assert result.source == "native"
    return result.items


def _check(golden: GoldenPrometheus, items: list[ContainerScan], *, oomkill: bool = False) -> None:
    scans = _scan_map(items)
    expected_keys = {(w.namespace, w.name, c.name) for w in golden.spec.workloads for c in w.containers}
    assert set(scans) == expected_keys
    for w in golden.spec.workloads:
        for c in w.containers:
            exp = expected_for(golden.spec, w, c.name, golden.history_hours * 3600, oomkill=oomkill)
            got = scans[(w.namespace, w.name, c.name)]
            where = f"{w.namespace}/{w.name}/{c.name}"
            assert got.error is None, where
            assert got.kind == w.kind, where
            assert got.usage.dataPoints == exp.points, where
            # cpuPeakCores with or without a recommendation ("Not enough data", HPA): evidence.
            assert exp.cpu_peak is not None, where
            assert got.usage.cpuPeakCores == _micro(exp.cpu_peak), where
            assert got.info.get("cpu") == exp.cpu_info, where
            assert got.info.get("memory") == exp.memory_info, where
            assert ("cpu" in got.unknown) == (exp.cpu is None), where
            assert ("memory" in got.unknown) == (exp.memory is None), where
            cpu_exp = next(e for e in got.explanation if e.resource == "cpu")
            mem_exp = next(e for e in got.explanation if e.resource == "memory")
            if exp.cpu is not None:
                assert Decimal(repr(cpu_exp.final_value)) == exp.cpu, where
            if exp.memory is not None:
                assert Decimal(repr(mem_exp.final_value)) == exp.memory, where
            if exp.cpu is not None and exp.memory is not None:
                assert got.recommended is not None, where
                rec = got.recommended
                assert parse_resource_quantity(rec.requests.cpu or "", "cpu") == exp.cpu, where
                assert rec.limits.cpu is None, where
                assert parse_resource_quantity(rec.requests.memory or "", "memory") == exp.memory, where
                assert rec.limits.memory == rec.requests.memory, where
            else:
                assert got.recommended is None and not got.proposable, where


async def test_native_engine_matches_krr_algorithm_computed_from_raw_samples(
    golden_prometheus: GoldenPrometheus,
) -> None:
    items = await _scan(golden_prometheus)
    _check(golden_prometheus, items)
    scans = _scan_map(items)
    # The cases the fixture was built for really happened:
    assert scans["shop", "tiny", "tiny"].info == {"cpu": "Not enough data", "memory": "Not enough data"}
    assert scans["shop", "frontend", "frontend"].unknown == ["cpu"]
    assert scans["shop", "frontend", "frontend"].hpa is not None
    api = scans["billing", "api", "api"]
    assert [(p.name, p.deleted) for p in api.pods] == [
        ("api-6d5f7c9b8-zt9k4", True),
        ("api-7f9c8d6b5-h6v3x", False),
    ]
    assert scans["batch", "report", "report"].kind == "CronJob"
    assert len(scans["batch", "report", "report"].pods) == 2
    assert scans["monitoring", "agent", "agent"].recommended is not None
    assert scans["monitoring", "agent", "agent"].recommended.requests.cpu == "10m"  # the floor
    web = scans["shop", "web", "app"]
    assert web.current.requests.cpu == "1" and web.current.limits.memory == "1Gi"
    assert web.labels == {"app": "web", "team": "storefront"}
    assert scans["shop", "worker", "worker"].current.model_dump(exclude_none=True) == {
        "requests": {},
        "limits": {},
    }


async def test_oomkill_bump(golden_prometheus: GoldenPrometheus) -> None:
    items = await _scan(golden_prometheus, use_oomkill_data=True)
    _check(golden_prometheus, items, oomkill=True)
    leaky = _scan_map(items)["oom", "leaky", "leaky"]
    assert leaky.recommended is not None and leaky.recommended.requests.memory == "320Mi"  # 256Mi x 1.25
    assert leaky.usage.oomKilled
    assert leaky.info == {"memory": "OOMKill detected"}


async def test_per_object_mode_gives_the_same_numbers_with_more_requests(
    golden_prometheus: GoldenPrometheus,
) -> None:
    base = dict(
        source="native", prometheus_url=golden_prometheus.url, history_hours=8, end_time=golden_prometheus.at
    )
    batched = await get_recommendations(ScanRequest(**base, query_mode="batched"))  # type: ignore[arg-type]
    per_object = await get_recommendations(ScanRequest(**base, query_mode="per_object"))  # type: ignore[arg-type]
    strip = {"stats", "scanned_at", "source_reason"}
    # per_object sends krr's queries only: simple's CPU peak (evidence, not krr's) is the one difference.
    assert all(i.usage.cpuPeakCores is None for i in per_object.items)
    assert [krr_comparable(i) for i in batched.items] == [krr_comparable(i) for i in per_object.items]
    assert batched.model_dump(exclude={*strip, "items"}) == per_object.model_dump(exclude={*strip, "items"})
    # (2x before batched asked simple's CPU peak too: one more query per namespace and re-ask.)
    assert per_object.stats.prometheus_requests >= 1.6 * batched.stats.prometheus_requests


async def test_explain_gives_the_numbers(golden_prometheus: GoldenPrometheus) -> None:
    scans = _scan_map(await _scan(golden_prometheus))
    web = golden_prometheus.spec.workloads[0]
    exp = expected_for(golden_prometheus.spec, web, "app", 8 * 3600)
    text = explain(scans["shop", "web", "app"])
    assert text.proposable
    joined = "\n".join(text.lines)
    assert f"{exp.points} data points over all pods (required: 100)" in joined
    assert "web-5c7d9f8b6d-4xk2p=" in joined and "web-5c7d9f8b6d-q8wzn=" in joined
    assert "rounded up to whole MiB" in joined
    agent = explain(scans["monitoring", "agent", "agent"])
    assert "cpu: raised to the minimum 10m." in agent.lines
    tiny = explain(scans["shop", "tiny", "tiny"])
    assert not tiny.proposable
    assert "cpu: no value: Not enough data." in tiny.lines


@pytest.mark.parametrize("selector, expected", [("team=storefront", {"web", "worker"}), ("app!=web", None)])
async def test_label_selector_and_kinds(
    golden_prometheus: GoldenPrometheus, selector: str, expected: set[str] | None
) -> None:
    items = await _scan(golden_prometheus, label_selector=selector)
    names = {i.name for i in items}
    if expected is not None:
        assert names == expected
    else:
        assert "web" not in names and "worker" in names and "db" in names
    items = await _scan(golden_prometheus, kinds=["StatefulSet", "DaemonSet"])
    assert {(i.kind, i.name) for i in items} == {("StatefulSet", "db"), ("DaemonSet", "agent")}
    items = await _scan(golden_prometheus, namespaces=["billing"])
    assert {i.name for i in items} == {"api"}


async def test_many_duplicates_fall_back_to_krrs_exact_queries_namespace_wide(
    golden_prometheus: GoldenPrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from krr_mcp.recommenders import native

    monkeypatch.setattr(native, "MAX_POD_REGEX", 0)  # every duplicate set counts as "too many pods"
    items = await _scan(golden_prometheus)
    _check(golden_prometheus, items)


# --- simple_limit: krr's CPULoader is a RANGE query, its percentiles are numpy's -----------------------


def numpy_linear_percentile(values: list[float], percent: float) -> float:
    """What np.percentile(values, percent) returns in numpy 1.26 (krr's pin), 'linear': index
    (n-1)*q, then numpy's two-sided lerp. (Checked against numpy 1.26.4 itself: docs/recommenders.md.)"""
    xs = sorted(values)
    index = (len(xs) - 1) * (percent / 100)
    if index >= len(xs) - 1:
        return xs[-1]
    i = int(index)  # index >= 0: truncation is the floor
    t = index - i
    a, b = xs[i], xs[i + 1]
    return a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t)


def range_samples(spec: HistorySpec, w: WorkloadSpec, container: str, history_s: int) -> list[float]:
    """Every point of krr's range query: from (EVAL_AT without its seconds) - history to that end, every
    STEP; at each, max over the container's series of rate(x[STEP]) (a point needs 2 samples)."""
    end = EVAL_AT // 60 * 60
    c = next(c for c in w.containers if c.name == container)
    out = []
    for pod in pods_in_window(spec, w, history_s):
        series = [cpu for cpu, _ in (container_samples(spec, w, pod, c, d) for d in (False, True)) if cpu]
        for t in range(end - history_s, end + 1, STEP):
            windows = [[(ts, v) for ts, v in cpu if t - STEP <= ts <= t] for cpu in series]
            rates = [extrapolated_rate(x, t - STEP, t, STEP) for x in windows if len(x) >= 2]
            if rates:
                out.append(max(rates))
    return out


def _micro(cores: float) -> str:
    """Observed cores as the engine writes them: millicores, 3 decimals, rounded up."""
    micro = math.ceil(cores * 1_000_000)
    return f"{micro // 1000}.{micro % 1000:03d}m"


def _millicores(cores: float) -> Decimal:
    return Decimal(max(math.ceil(cores * 10**3), 10)) / 1000


async def test_simple_limit_matches_krr_algorithm_computed_from_raw_samples(
    golden_prometheus: GoldenPrometheus,
) -> None:
    items = await _scan(golden_prometheus, strategy="simple_limit")
    scans = _scan_map(items)
    history_s = golden_prometheus.history_hours * 3600
    checked = 0
    for w in golden_prometheus.spec.workloads:
        for c in w.containers:
            got = scans[(w.namespace, w.name, c.name)]
            where = f"{w.namespace}/{w.name}/{c.name}"
            simple = expected_for(golden_prometheus.spec, w, c.name, history_s)  # memory, points, info
            samples = range_samples(golden_prometheus.spec, w, c.name, history_s)
            assert got.error is None and got.usage.dataPoints == simple.points, where
            assert got.info.get("cpu") == simple.cpu_info and got.info.get("memory") == simple.memory_info, (
                where
            )
            assert got.usage.cpuPeakCores == _micro(max(samples)), where
            if simple.cpu_info is not None:
                assert "cpu" in got.unknown and got.recommended is None, where
                continue
            assert got.recommended is not None, where
            rec = got.recommended
            request = _millicores(numpy_linear_percentile(samples, 66))
            limit = _millicores(numpy_linear_percentile(samples, 96))
            assert parse_resource_quantity(rec.requests.cpu or "", "cpu") == request, where
            assert parse_resource_quantity(rec.limits.cpu or "", "cpu") == limit, where
            assert parse_resource_quantity(rec.requests.memory or "", "memory") == simple.memory, where
            assert rec.limits.memory == rec.requests.memory, where
            assert got.severities["limits.cpu"] != "UNKNOWN", where
            checked += 1
    assert checked >= 8  # every container with enough data and no HPA on CPU
    result = await get_recommendations(
        ScanRequest(source="native", prometheus_url=golden_prometheus.url, history_hours=8,
                    end_time=golden_prometheus.at, strategy="simple_limit", query_mode="per_object")
    )  # fmt: skip
    assert [i.recommended for i in result.items] == [i.recommended for i in items]
    assert result.strategy == "simple_limit" and result.settings["cpu_request"] == 66
    assert result.settings["cpu_limit"] == 96 and "cpu_percentile" not in result.settings
    web = scans["shop", "web", "app"]
    text = "\n".join(explain(web).lines)
    assert "p66 (request) and p96 (limit)" in text and "limit percentile" in text and "highest sample" in text


async def test_simple_limit_at_krrs_defaults_needs_more_points_than_one_range_query_allows(
    golden_prometheus: GoldenPrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """krr's defaults (336 h at 75 s) make a 16,129-point range query; Prometheus refuses more than
    11,000. The engine asks for consecutive pieces of the same grid: the numbers are the raw-sample ones."""
    from krr_mcp.recommenders import promapi

    history_s = 336 * 3600
    request = ScanRequest(source="native", prometheus_url=golden_prometheus.url, history_hours=336,
                          end_time=golden_prometheus.at, strategy="simple_limit", names=["web"])  # fmt: skip
    items = (await get_recommendations(request)).items
    assert len(items) == 2
    spec = golden_prometheus.spec
    w = next(w for w in spec.workloads if w.name == "web")
    for got in items:
        samples = range_samples(spec, w, got.container, history_s)
        assert got.recommended is not None, got.container
        assert parse_resource_quantity(got.recommended.requests.cpu or "", "cpu") == _millicores(
            numpy_linear_percentile(samples, 66)
        )
        assert parse_resource_quantity(got.recommended.limits.cpu or "", "cpu") == _millicores(
            numpy_linear_percentile(samples, 96)
        )
    monkeypatch.setattr(promapi, "MAX_RANGE_POINTS", 20_000)  # one query, as krr sends it
    result = await get_recommendations(request)
    assert result.items and all(
        i.error and "exceeded maximum resolution of 11,000 points" in i.error for i in result.items
    )


async def test_savings_over_the_running_pods(golden_prometheus: GoldenPrometheus) -> None:
    """The summary's per-pod savings, and the same multiplied by each workload's running pods (krr's
    current_pods_count): billing/api runs 1 pod (its older pod in the window is deleted), shop/web 2."""
    from krr_mcp.recommenders import namespace_summaries

    result = await get_recommendations(
        ScanRequest(source="native", prometheus_url=golden_prometheus.url, history_hours=8,
                    end_time=golden_prometheus.at, namespaces=["billing"])
    )  # fmt: skip
    (api,) = result.items
    assert api.recommended is not None and api.running_pods == 1 and len(api.pods) == 2
    cpu = Decimal("0.5") - parse_resource_quantity(api.recommended.requests.cpu or "", "cpu")
    memory = 512 * MIB - parse_resource_quantity(api.recommended.requests.memory or "", "memory")
    summary = result.summary
    assert Decimal(repr(summary.cpu_request_savings_cores)) == cpu
    assert Decimal(repr(summary.cpu_request_savings_cores_running_pods)) == cpu  # one running pod
    assert summary.memory_request_savings_bytes_running_pods == float(memory)
    shop = await _scan(golden_prometheus, namespaces=["shop"], names=["web"])
    web = {i.container: i for i in shop}
    assert web["app"].running_pods == 2 and web["app"].recommended is not None
    app_cpu = Decimal(1) - parse_resource_quantity(web["app"].recommended.requests.cpu or "", "cpu")
    nginx = web["nginx"]
    assert nginx.recommended is not None
    nginx_cpu = Decimal("0.1") - parse_resource_quantity(nginx.recommended.requests.cpu or "", "cpu")
    sums = namespace_summaries(shop, [])["shop"]
    assert Decimal(repr(sums.cpu_request_savings_cores_running_pods)) == 2 * (app_cpu + nginx_cpu)
