"""Pure: which scan result the demo's assistant proposes, and the propose_change arguments for it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from krr_operator.api.quantities import QuantityError, format_cpu, format_memory, parse_resource_quantity

SEVERITY_ORDER = {"CRITICAL": 0, "WARNING": 1, "OK": 2, "GOOD": 3, "UNKNOWN": 4}


def scan_items(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-container items of a scan_recommendations result."""
    for key in ("items", "recommendations", "containers"):
        if isinstance(result.get(key), list):
            return list(result[key])
    return []


def _amount(resources: dict[str, Any] | None, section: str, name: str) -> Decimal | None:
    value = ((resources or {}).get(section) or {}).get(name)
    if value is None:
        return None
    try:
        return parse_resource_quantity(value, name)
    except QuantityError:
        return None


def relative_change(item: dict[str, Any]) -> Decimal:
    """The largest relative change of cpu/memory requests between current and recommended."""
    biggest = Decimal(0)
    for name in ("cpu", "memory"):
        before = _amount(item.get("current"), "requests", name)
        after = _amount(item.get("recommended"), "requests", name)
        if before and after is not None:
            biggest = max(biggest, abs(after - before) / before)
    return biggest


def _resources_differ(item: dict[str, Any]) -> bool:
    return any(
        _amount(item.get("current"), s, n) != _amount(item.get("recommended"), s, n)
        for s in ("requests", "limits")
        for n in ("cpu", "memory")
    )


def _preference(item: dict[str, Any], prefer_kind: str) -> tuple[Any, ...]:
    return (
        item.get("kind") != prefer_kind,
        SEVERITY_ORDER.get(str(item.get("severity")).upper(), 5),
        -relative_change(item),
        item.get("namespace"),
        item.get("name"),
        item.get("container"),
    )


def candidates(items: list[dict[str, Any]], prefer_kind: str = "Deployment") -> list[list[dict[str, Any]]]:
    """Container groups worth proposing, best first: each workload with all its changing containers,
    then (when it has several) each of them alone. A Deployment first (the easiest rollout to follow),
    then the most severe, then the biggest change."""
    changing = [
        i for i in items if i.get("proposable", True) and i.get("recommended") and _resources_differ(i)
    ]
    by_workload: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for item in sorted(changing, key=lambda i: _preference(i, prefer_kind)):
        by_workload.setdefault((item.get("namespace"), item.get("kind"), item.get("name")), []).append(item)
    groups: list[list[dict[str, Any]]] = []
    for members in by_workload.values():
        groups.append(members)
        if len(members) > 1:
            groups.extend([m] for m in members)
    return groups


def choose_workload(items: list[dict[str, Any]], prefer_kind: str = "Deployment") -> list[dict[str, Any]]:
    """The first of `candidates` ([] when nothing should change)."""
    found = candidates(items, prefer_kind)
    return found[0] if found else []


def _step_bound(current: Decimal, wanted: Decimal, limit: Any) -> Decimal:
    if limit is None:
        return wanted
    if limit.maxDecreasePercent is not None:
        wanted = max(wanted, current * (1 - Decimal(str(limit.maxDecreasePercent)) / 100))
    if limit.maxIncreaseFactor is not None:
        wanted = min(wanted, current * Decimal(str(limit.maxIncreaseFactor)))
    return wanted


def within_step(item: dict[str, Any], steps: Any) -> dict[str, Any]:
    """`item` with each recommended request/limit moved at most as far as `steps` (a policy's
    StepLimits) allows from the current value, as a careful assistant proposes a first step."""
    recommended: dict[str, dict[str, str]] = {}
    for section in ("requests", "limits"):
        values = dict(((item.get("recommended") or {}).get(section)) or {})
        for name in ("cpu", "memory"):
            current = _amount(item.get("current"), section, name)
            wanted = _amount(item.get("recommended"), section, name)
            if current is None or wanted is None or not current:
                continue
            bounded = _step_bound(current, wanted, getattr(steps, name, None) if steps else None)
            if bounded != wanted:
                values[name] = format_cpu(bounded) if name == "cpu" else format_memory(bounded)
        recommended[section] = {k: v for k, v in values.items() if v is not None}
    return {**item, "recommended": recommended}


def _clean(amounts: dict[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (amounts or {}).items() if k in ("cpu", "memory") and v is not None}


def propose_arguments(chosen: list[dict[str, Any]], scan: dict[str, Any]) -> dict[str, Any]:
    """propose_change arguments that carry the scan's numbers unchanged and name the scan (its scan_id):
    the bridge takes the usage and evidence from the scan it kept, never from the assistant."""
    first = chosen[0]
    containers = [
        {
            "name": i["container"],
            "requests": _clean((i.get("recommended") or {}).get("requests")),
            "limits": _clean((i.get("recommended") or {}).get("limits")),
        }
        for i in chosen
    ]
    return {
        "proposals": [
            {
                "namespace": first["namespace"],
                "kind": first["kind"],
                "name": first["name"],
                "containers": containers,
            }
        ],
        "reason": "Observed usage over the history window is far from the current requests "
        f"({', '.join(f'{i["container"]}: {i.get("severity", "?")}' for i in chosen)}); "
        "these are krr's simple-strategy recommendations, limited to the policy's largest step per change.",
        "scan_id": scan["scan_id"],
    }
