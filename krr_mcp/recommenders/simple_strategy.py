"""krr's `simple` and `simple_limit` strategies as pure functions: per-pod history in, rounded
recommendation out.

simple_limit (krr main, robusta_krr/strategies/simple_limit.py; defaults cpu_request=66, cpu_limit=96):
- CPU request / limit = np.percentile (numpy 1.26, 'linear') of ALL pods' CPU usage-rate samples
  together (the range query krr's CPULoader sends: one sample per step over the history), at
  cpu_request / cpu_limit; both rounded and floored like any value. Memory, points and HPA: as simple.

Rules (krr main, robusta_krr/strategies/simple.py, core/runner.py, core/models/severity.py):
- CPU request = max over pods of the per-pod percentile of usage rate; CPU limit unset. The highest
  sample of the same subquery (max over pods) is kept as evidence (`cpuPeakCores`; not krr's).
- Memory request = limit = max over pods of the peak working set x (1 + buffer%), or the largest
  OOMKilled memory limit x (1 + oom buffer%) when OOMKill data is used and that is higher.
- A resource whose summed data points (over pods) is below points_required gets no value ("?",
  "Not enough data"); so does a resource an HPA scales on, unless allow_hpa ("HPA detected").
- Rounding: CPU up to whole millicores, memory up to whole MiB; then at least the floors (10m, 100Mi).
- Severity per field from |current - recommended|: CPU 0.1/0.25/0.5 cores for OK/WARNING/CRITICAL;
  memory 100/250/500 MiB. Both unset: GOOD; one unset: WARNING; "?": UNKNOWN. Overall = the worst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from krr_mcp.api.quantities import format_cpu, format_memory
from krr_mcp.api.resource_recommendation import ContainerResources, ContainerUsage, ResourceAmounts

from .models import SEVERITY_ORDER, ContainerScan, HpaInfo, PodRef, ResourceExplanation, ScanRequest, Severity

MIB = 1024 * 1024
UNDEFINED = "?"
RESOURCES = ("cpu", "memory")


@dataclass
class ContainerHistory:
    """What Prometheus said about one container of one workload, per pod."""

    cpu_percentile: dict[str, float] = field(default_factory=dict)
    cpu_peak: dict[str, float] = field(default_factory=dict)  # simple: the highest rate sample
    cpu_points: dict[str, float] = field(default_factory=dict)
    memory_peak: dict[str, float] = field(default_factory=dict)
    memory_points: dict[str, float] = field(default_factory=dict)
    oomkill_limit: dict[str, float] = field(default_factory=dict)
    cpu_values: dict[str, list[float]] = field(default_factory=dict)  # simple_limit: every rate sample


@dataclass
class ResourceOutcome:
    """One resource's recommendation: request/limit in cores or bytes; None = unset; '?' = unknown."""

    request: float | str | None
    limit: float | str | None
    info: str | None
    explanation: ResourceExplanation


def round_value(value: float, resource: str, request: ScanRequest) -> tuple[float, float, bool]:
    """krr's `_round_value`: ceil to 1m / 1MiB, then the floor. Returns (rounded, final, floor_applied)."""
    if resource == "cpu":
        rounded = math.ceil(value * 10**3) / 10**3
        floor = 1 / 1000 * request.cpu_min_millicores
    else:
        prec = 1 / (1024**2)
        rounded = math.ceil(value * prec) / prec
        floor = 1024**2 * request.memory_min_mib
    return rounded, max(rounded, floor), floor > rounded


def _floor(resource: str, request: ScanRequest) -> float:
    return request.cpu_min_millicores / 1000 if resource == "cpu" else float(request.memory_min_mib * MIB)


Facts = dict[str, Any]
"""A ResourceExplanation's fields as the strategy learns them; the model is built once, at the end
(a chain of `model_copy(update=...)` left about 3 KB per container behind in a kept 10,000-item scan)."""


def cpu_outcome(history: ContainerHistory, hpa: HpaInfo | None, request: ScanRequest) -> ResourceOutcome:
    points = int(sum(history.cpu_points.values()))
    exp: Facts = dict(
        resource="cpu",
        method=f"max over pods of p{request.cpu_percentile:g} of the CPU usage rate; no limit",
        per_pod=dict(history.cpu_percentile),
        data_points=points,
        points_required=request.points_required,
        floor=_floor("cpu", request),
    )
    if not history.cpu_percentile:
        return _unknown(exp, "No data")
    if history.cpu_peak:  # evidence, with or without a recommendation
        exp["peak"] = max(history.cpu_peak.values())
    refused = _refusal(exp, points, hpa, request)
    if refused is not None:
        return refused
    final, explanation = _cpu_request(exp, max(history.cpu_percentile.values()), request)
    return ResourceOutcome(request=final, limit=None, info=None, explanation=explanation)


def _refusal(exp: Facts, points: int, hpa: HpaInfo | None, request: ScanRequest) -> ResourceOutcome | None:
    """krr's checks once there is data, in its order: enough points, then no HPA on the resource."""
    if points < request.points_required:
        return _unknown(exp, "Not enough data")
    if hpa is not None and not request.allow_hpa:
        target = (
            hpa.target_cpu_utilization_percentage
            if exp["resource"] == "cpu"
            else hpa.target_memory_utilization_percentage
        )
        if target is not None:
            return _unknown(exp, "HPA detected")
    return None


def _cpu_request(
    exp: Facts, observed: float, request: ScanRequest, **more: float
) -> tuple[float, ResourceExplanation]:
    """The CPU request from the observed value (rounded up, floored) and the explanation saying so."""
    rounded, final, floored = round_value(observed, "cpu", request)
    numbers = {"observed": observed, "raw_value": observed, "rounded_value": rounded, "final_value": final}
    return final, ResourceExplanation(**exp, **numbers, floor_applied=floored, **more)


def numpy_percentile(values: list[float], percent: float) -> float:
    """np.percentile(values, percent) of numpy 1.26 (krr's pin), method 'linear', bit for bit:
    virtual index (n - 1) * (percent / 100), then numpy's _lerp (from the upper neighbour when the
    fraction is at least 0.5)."""
    ordered = sorted(values)
    virtual = (len(ordered) - 1) * (percent / 100)
    if virtual >= len(ordered) - 1:
        return ordered[-1]
    below = math.floor(virtual)
    fraction = virtual - below
    low, high = ordered[below], ordered[below + 1]
    step = high - low
    return high - step * (1 - fraction) if fraction >= 0.5 else low + step * fraction


def cpu_limit_outcome(
    history: ContainerHistory, hpa: HpaInfo | None, request: ScanRequest
) -> ResourceOutcome:
    """simple_limit's CPU: request and limit are percentiles of every pod's samples together."""
    points = int(sum(history.cpu_points.values()))
    req_pct, lim_pct = request.cpu_request_percentile, request.cpu_limit_percentile
    exp: Facts = dict(
        resource="cpu",
        method=f"p{req_pct:g} (request) and p{lim_pct:g} (limit) of the CPU usage rate, "
        "all pods' samples together",
        per_pod={pod: max(v) for pod, v in history.cpu_values.items() if v},
        data_points=points,
        points_required=request.points_required,
        floor=_floor("cpu", request),
    )
    samples = [v for pod in sorted(history.cpu_values) for v in history.cpu_values[pod]]
    if not samples:
        return _unknown(exp, "No data")
    exp["peak"] = max(samples)  # evidence, with or without a recommendation
    refused = _refusal(exp, points, hpa, request)
    if refused is not None:
        return refused
    limit = numpy_percentile(samples, lim_pct)
    limit_final = round_value(limit, "cpu", request)[1]
    final, explanation = _cpu_request(
        exp,
        numpy_percentile(samples, req_pct),
        request,
        limit_observed=limit,
        limit_final_value=limit_final,
    )
    return ResourceOutcome(request=final, limit=limit_final, info=None, explanation=explanation)


def memory_outcome(history: ContainerHistory, hpa: HpaInfo | None, request: ScanRequest) -> ResourceOutcome:
    points = int(sum(history.memory_points.values()))
    buffer = 1 + request.memory_buffer_pct / 100
    exp: Facts = dict(
        resource="memory",
        method=f"max over pods of the peak working set + {request.memory_buffer_pct:g}%; limit = request",
        per_pod=dict(history.memory_peak),
        data_points=points,
        points_required=request.points_required,
        floor=_floor("memory", request),
    )
    oom = 0.0
    if request.use_oomkill_data and history.oomkill_limit:
        oom = max(history.oomkill_limit.values())
    if not history.memory_peak:
        return _unknown(exp, "No data")
    refused = _refusal(exp, points, hpa, request)
    if refused is not None:
        return refused
    observed = max(history.memory_peak.values())
    raw = max(observed * buffer, oom * (1 + request.oom_memory_buffer_pct / 100))
    rounded, final, floored = round_value(raw, "memory", request)
    info = "OOMKill detected" if oom != 0 else None
    explanation = ResourceExplanation(
        **exp,
        observed=observed,
        raw_value=raw,
        rounded_value=rounded,
        final_value=final,
        floor_applied=floored,
        oomkill_bytes=oom or None,
        info=info,
    )
    return ResourceOutcome(request=final, limit=final, info=info, explanation=explanation)


def _unknown(exp: Facts, info: str) -> ResourceOutcome:
    return ResourceOutcome(
        request=UNDEFINED, limit=UNDEFINED, info=info, explanation=ResourceExplanation(**exp, info=info)
    )


def field_severity(resource: str, current: float | None, recommended: float | str | None) -> Severity:
    """krr's per-field severity calculators."""
    if isinstance(recommended, str) or isinstance(current, str):
        return "UNKNOWN"
    if current is None and recommended is None:
        return "GOOD"
    if current is None or recommended is None:
        return "WARNING"
    if resource == "cpu":
        diff = abs(current - recommended)
        steps = (0.5, 0.25, 0.1)
    else:
        diff = abs(current - recommended) / 1024 / 1024
        steps = (500, 250, 100)
    if diff >= steps[0]:
        return "CRITICAL"
    if diff >= steps[1]:
        return "WARNING"
    if diff >= steps[2]:
        return "OK"
    return "GOOD"


def worst(severities: list[Severity]) -> Severity:
    return max(severities, key=lambda s: SEVERITY_ORDER[s], default="UNKNOWN")


def format_amount(value: float, resource: str) -> str:
    """A quantity string for cores/bytes: exact when krr-rounded (250m, 593Mi), else exact decimal."""
    amount = Decimal(repr(float(value)))
    if resource == "cpu":
        if (amount * 1000) == (amount * 1000).to_integral_value():
            return format_cpu(amount)
    elif amount == amount.to_integral_value():
        return format_memory(amount)
    text = format(amount.normalize(), "f")
    return text


def usage_cpu(cores: float) -> str:
    """Observed CPU as millicores with 3 decimals, rounded up (`30.895m`)."""
    micro = math.ceil(cores * 1_000_000)
    return f"{micro // 1000}.{micro % 1000:03d}m"


def resources_from(values: dict[str, dict[str, float | None]]) -> ContainerResources:
    """{'requests': {'cpu': 0.1, 'memory': None}, 'limits': {...}} -> ContainerResources."""

    def amounts(part: dict[str, float | None]) -> ResourceAmounts:
        return ResourceAmounts(
            **{res: format_amount(v, res) for res, v in part.items() if v is not None and res in RESOURCES}
        )

    return ContainerResources(
        requests=amounts(values.get("requests", {})), limits=amounts(values.get("limits", {}))
    )


def build_scan(
    *,
    namespace: str,
    kind: str,
    name: str,
    container: str,
    pods: list[PodRef],
    current: dict[str, dict[str, float | None]],
    history: ContainerHistory,
    hpa: HpaInfo | None,
    request: ScanRequest,
    labels: dict[str, str] | None = None,
    warnings: list[str] | None = None,
) -> ContainerScan:
    """Run the strategy for one container and assemble its ContainerScan (the native engine's output;
    its explanation only when `request.keep_explanations`: every other field is the same either way)."""
    cpu = cpu_limit_outcome if request.strategy == "simple_limit" else cpu_outcome
    outcomes = {"cpu": cpu(history, hpa, request), "memory": memory_outcome(history, hpa, request)}
    severities: dict[str, Severity] = {}
    for selector in ("requests", "limits"):
        for res, out in outcomes.items():
            rec = out.request if selector == "requests" else out.limit
            severities[f"{selector}.{res}"] = field_severity(res, current[selector].get(res), rec)
    unknown = [res for res, out in outcomes.items() if out.request == UNDEFINED]
    recommended = None
    if not unknown:
        recommended = resources_from(
            {
                "requests": {r: _num(o.request) for r, o in outcomes.items()},
                "limits": {r: _num(o.limit) for r, o in outcomes.items()},
            }
        )
    cpu_exp, mem_exp = outcomes["cpu"].explanation, outcomes["memory"].explanation
    usage = ContainerUsage(
        cpuPercentileCores=None if cpu_exp.observed is None else usage_cpu(cpu_exp.observed),
        cpuPeakCores=None if cpu_exp.peak is None else usage_cpu(cpu_exp.peak),
        memoryPeak=None if mem_exp.observed is None else format_amount(math.ceil(mem_exp.observed), "memory"),
        dataPoints=min(cpu_exp.data_points or 0, mem_exp.data_points or 0),
        oomKilled=bool(mem_exp.oomkill_bytes),
    )
    return ContainerScan(
        namespace=namespace,
        kind=kind,
        name=name,
        container=container,
        pods=pods,
        current=resources_from(current),
        recommended=recommended,
        unknown=unknown,  # type: ignore[arg-type]
        severity=worst(list(severities.values())),
        severities=severities,
        info={res: out.info for res, out in outcomes.items() if out.info},
        usage=usage,
        hpa=hpa,
        labels=labels or {},
        warnings=warnings or [],
        explanation=[cpu_exp, mem_exp] if request.keep_explanations else [],
    )


def _num(value: float | str | None) -> float | None:
    return None if value is None or isinstance(value, str) else value
