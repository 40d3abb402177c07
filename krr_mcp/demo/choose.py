"""Pure: which scan result the demo's assistant proposes, and the propose_change arguments for it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from krr_mcp.api.quantities import QuantityError, parse_resource_quantity

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


def propose_arguments(chosen: list[dict[str, Any]], scan: dict[str, Any]) -> dict[str, Any]:
    """propose_change arguments that name the scan (its scan_id) and which of its recommendations to
    propose (the workload and containers); the numbers, usage and evidence are the bridge's, from the
    scan it kept, limited to the policy's largest step per change."""
    first = chosen[0]
    return {
        "proposals": [
            {
                "namespace": first["namespace"],
                "kind": first["kind"],
                "name": first["name"],
                "containers": [{"name": i["container"]} for i in chosen],
                "within_max_step": True,
            }
        ],
        "reason": "Observed usage over the history window is far from the current requests "
        f"({', '.join(f'{i["container"]}: {i.get("severity", "?")}' for i in chosen)}); "
        "these are krr's simple-strategy recommendations, limited to the policy's largest step per change.",
        "scan_id": scan["scan_id"],
    }


def preview_arguments(chosen: list[dict[str, Any]], scan: dict[str, Any]) -> dict[str, Any]:
    """preview_change arguments for the same choice as `propose_arguments`."""
    return {**propose_arguments(chosen, scan)["proposals"][0], "scan_id": scan["scan_id"]}
