"""Rules from the namespace's admission limits: LimitRange (Container and Pod items) and ResourceQuota.

A change that would make the new pods fail admission (LimitRanger) or exceed a quota is refused with
the numbers; the rollout would otherwise stall with old and new pods side by side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from krr_mcp.api.quantities import QuantityError, parse_resource_quantity
from krr_mcp.api.resource_recommendation import RiskLevel

from .findings import Findings
from .resources import RESOURCES, Amounts, LimitItem, fmt, parse_amounts, pod_total

# ResourceQuota keys this product can move, and the pod total each one counts.
QUOTA_KEYS: dict[str, str] = {
    "cpu": "requests.cpu",
    "memory": "requests.memory",
    "requests.cpu": "requests.cpu",
    "requests.memory": "requests.memory",
    "limits.cpu": "limits.cpu",
    "limits.memory": "limits.memory",
}


def _container_violations(effective: Amounts, item: LimitItem, resource: str) -> list[str]:
    """Why LimitRanger would refuse these effective amounts for one resource (empty: it admits them)."""
    request, limit = effective.get("requests", resource), effective.get("limits", resource)
    low, high = item["min"].get(resource), item["max"].get(resource)
    ratio = item["maxLimitRequestRatio"].get(resource)
    problems = []
    if low is not None:
        if request is None:
            problems.append(f"requires requests.{resource} (min {fmt(low, resource)})")
        for kind, value in (("requests", request), ("limits", limit)):
            if value is not None and value < low:
                problems.append(f"{kind}.{resource} {fmt(value, resource)} is below min {fmt(low, resource)}")
    if high is not None:
        if limit is None:
            problems.append(f"requires limits.{resource} (max {fmt(high, resource)})")
        for kind, value in (("requests", request), ("limits", limit)):
            if value is not None and value > high:
                problems.append(
                    f"{kind}.{resource} {fmt(value, resource)} is above max {fmt(high, resource)}"
                )
    if ratio is not None and limit is not None:
        if not request:
            problems.append(f"maxLimitRequestRatio {ratio} for {resource} needs a non-zero request")
        elif limit / request > ratio:
            problems.append(
                f"{resource} limit/request {fmt(limit, resource)}/{fmt(request, resource)} = "
                f"{limit / request:.2f} is above maxLimitRequestRatio {ratio}"
            )
    return problems


def check_limit_ranges(
    name: str, effective: Amounts, limit_items: Sequence[tuple[str, LimitItem]], out: Findings
) -> None:
    """A container's effective (defaulted) amounts against every Container-type LimitRange item."""
    for lr_name, item in limit_items:
        for resource in RESOURCES:
            for problem in _container_violations(effective, item, resource):
                out.refuse("limit-range", f"LimitRange {lr_name}: {problem}", container=name)


def check_pod_limit_ranges(
    regular: Sequence[Amounts], limit_ranges: Sequence[Mapping[str, Any]], out: Findings
) -> None:
    """The pod's summed amounts against `type: Pod` LimitRange min/max."""
    totals = pod_total(regular)
    for lr in limit_ranges:
        lr_name = (lr.get("metadata") or {}).get("name", "?")
        for item in (lr.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Pod":
                continue
            for bound, values in (
                ("min", parse_amounts(item.get("min"))),
                ("max", parse_amounts(item.get("max"))),
            ):
                for resource, value in values.items():
                    for kind in ("requests", "limits"):
                        total = totals[f"{kind}.{resource}"]
                        if (bound == "min" and total < value) or (bound == "max" and total > value):
                            word = "below" if bound == "min" else "above"
                            out.refuse(
                                "limit-range",
                                f"pod total {kind}.{resource} {fmt(total, resource)} is {word} LimitRange "
                                f"{lr_name} Pod {bound} {fmt(value, resource)}",
                            )


def _quota_amount(value: Any, key: str) -> Decimal:
    return parse_resource_quantity(value, "cpu" if key.endswith("cpu") else "memory")


def surge_pods(workload: Mapping[str, Any], replicas: int) -> int:
    """Extra pods a Deployment's RollingUpdate runs beside the old ones (maxSurge, default 25%, round up)."""
    if workload.get("kind") != "Deployment" or replicas <= 0:
        return 0
    strategy = (workload.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge)


def check_quotas(
    before: Sequence[Amounts],
    after: Sequence[Amounts],
    init: Sequence[Amounts],
    replicas: int,
    surge: int,
    quotas: Sequence[Mapping[str, Any]],
    out: Findings,
) -> None:
    """Quota headroom: (new pod - old pod) x replicas must fit in hard - used, per tracked key.

    `before`/`after` are the effective amounts of all the pod's regular containers. Near its end a
    rolling update runs every new pod plus `surge` extra pods (old or new size), so when
    max(delta, 0) + surge x the larger pod does not fit, that is a warning: the rollout waits for room.
    """
    old_pod, new_pod = pod_total(before, init), pod_total(after, init)
    for quota in quotas:
        q_name = (quota.get("metadata") or {}).get("name", "?")
        hard = (quota.get("status") or {}).get("hard") or (quota.get("spec") or {}).get("hard") or {}
        used = (quota.get("status") or {}).get("used") or {}
        for key, total_key in QUOTA_KEYS.items():
            if key not in hard:
                continue
            kind, resource = total_key.split(".")
            if any(c.get(kind, resource) is None for c in after):
                out.refuse(
                    "resource-quota", f"ResourceQuota {q_name} tracks {key}: every container must set it"
                )
                continue
            try:
                hard_amount = _quota_amount(hard[key], key)
                used_amount = _quota_amount(used.get(key, 0), key)
            except QuantityError as exc:
                out.warn("resource-quota", f"ResourceQuota {q_name} {key}: {exc}", risk=RiskLevel.MEDIUM)
                continue
            headroom = hard_amount - used_amount
            delta = (new_pod[total_key] - old_pod[total_key]) * replicas
            larger_pod = max(new_pod[total_key], old_pod[total_key])
            numbers = (
                f"ResourceQuota {q_name} {key}: change needs {fmt(delta, resource)} "
                f"({fmt(new_pod[total_key] - old_pod[total_key], resource)} x {replicas} replicas), "
                f"hard {fmt(hard_amount, resource)} - used {fmt(used_amount, resource)} leaves "
                f"{fmt(max(headroom, Decimal(0)), resource)}"
            )
            if delta > headroom and delta > 0:
                out.refuse("resource-quota", numbers)
            elif surge and max(delta, Decimal(0)) + surge * larger_pod > headroom:
                out.warn(
                    "resource-quota",
                    f"{numbers}; the rollout's {surge} surge pod(s) need up to "
                    f"{fmt(surge * larger_pod, resource)} more, so it may wait for quota",
                    risk=RiskLevel.MEDIUM,
                )
