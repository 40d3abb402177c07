"""CPU/memory amounts of containers and pods as exact Decimals, with Kubernetes' defaulting rules.

Only `cpu` and `memory` are handled; other resource names are never read or changed here.
Every quantity goes through `krr_mcp.api.quantities.parse_resource_quantity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from krr_mcp.api.quantities import format_resource_quantity, parse_resource_quantity
from krr_mcp.api.resource_recommendation import ContainerResources

RESOURCES: tuple[Literal["cpu", "memory"], ...] = ("cpu", "memory")
KINDS: tuple[Literal["requests", "limits"], ...] = ("requests", "limits")


@dataclass(frozen=True)
class Amounts:
    """One container's cpu/memory requests and limits; a missing key means "not set"."""

    requests: Mapping[str, Decimal] = field(default_factory=dict)
    limits: Mapping[str, Decimal] = field(default_factory=dict)

    def get(self, kind: str, resource: str) -> Decimal | None:
        return (self.requests if kind == "requests" else self.limits).get(resource)


def parse_amounts(values: Mapping[str, Any] | None) -> dict[str, Decimal]:
    return {
        r: parse_resource_quantity(values[r], r) for r in RESOURCES if values and values.get(r) is not None
    }


def amounts_of(resources: Mapping[str, Any] | ContainerResources | None) -> Amounts:
    """Amounts from a container's `resources` dict (as in a pod spec) or from the RR model."""
    if isinstance(resources, ContainerResources):
        resources = resources.model_dump(exclude_none=True)
    resources = resources or {}
    return Amounts(parse_amounts(resources.get("requests")), parse_amounts(resources.get("limits")))


def fmt(amount: Decimal | None, resource: str) -> str:
    """A quantity the way kubectl shows it, or "unset"."""
    return "unset" if amount is None else format_resource_quantity(amount, resource)


def defaulted_limit_range_item(item: Mapping[str, Any]) -> dict[str, dict[str, Decimal]]:
    """A Container-type LimitRange item's min/max/default/defaultRequest/maxLimitRequestRatio, with the
    API server's defaulting (default <- max, defaultRequest <- default, defaultRequest <- min)."""
    out = {
        key: parse_amounts(item.get(key))
        for key in ("min", "max", "default", "defaultRequest", "maxLimitRequestRatio")
    }
    for resource, value in out["max"].items():
        out["default"].setdefault(resource, value)
    for resource, value in out["default"].items():
        out["defaultRequest"].setdefault(resource, value)
    for resource, value in out["min"].items():
        out["defaultRequest"].setdefault(resource, value)
    return out


LimitItem = dict[str, dict[str, Decimal]]


def container_limit_items(
    limit_ranges: Iterable[Mapping[str, Any]],
) -> list[tuple[str, LimitItem]]:
    """(LimitRange name, defaulted item) for every `type: Container` item in the namespace; parse once
    per evaluation and pass the result to `effective` and the LimitRange rule."""
    items = []
    for lr in limit_ranges:
        name = str((lr.get("metadata") or {}).get("name", "?"))
        for item in (lr.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container":
                items.append((name, defaulted_limit_range_item(item)))
    return items


def effective(amounts: Amounts, limit_items: Iterable[tuple[str, LimitItem]] = ()) -> Amounts:
    """What the pod will really get: requests default to limits (pod defaulting), then each LimitRange
    fills missing limits from `default` and missing requests from `defaultRequest` (LimitRanger)."""
    requests = dict(amounts.requests)
    limits = dict(amounts.limits)
    for resource, value in limits.items():
        requests.setdefault(resource, value)
    for _name, item in limit_items:
        for resource, value in item["default"].items():
            limits.setdefault(resource, value)
        for resource, value in item["defaultRequest"].items():
            requests.setdefault(resource, value)
    return Amounts(requests, limits)


def qos_class(pod_containers: Iterable[Amounts]) -> Literal["Guaranteed", "Burstable", "BestEffort"]:
    """The pod QoS class from its containers' effective cpu/memory (as the kubelet computes it)."""
    all_containers = list(pod_containers)
    if all(not c.requests and not c.limits for c in all_containers):
        return "BestEffort"
    for c in all_containers:
        for resource in RESOURCES:
            limit = c.limits.get(resource)
            if limit is None or c.requests.get(resource, limit) != limit:
                return "Burstable"
    return "Guaranteed"


def pod_total(regular: Iterable[Amounts], init: Iterable[Amounts] = ()) -> dict[str, Decimal]:
    """A pod's quota usage as `requests.cpu`, `limits.memory`, ... : the larger of the sum over regular
    containers and the largest init container (restartable sidecars are not modelled)."""
    regular, init = list(regular), list(init)
    totals: dict[str, Decimal] = {}
    for kind in KINDS:
        for resource in RESOURCES:
            values = [c.get(kind, resource) for c in regular]
            summed = sum((v for v in values if v is not None), Decimal(0))
            init_max = max((v for c in init if (v := c.get(kind, resource)) is not None), default=Decimal(0))
            totals[f"{kind}.{resource}"] = max(summed, init_max)
    return totals
