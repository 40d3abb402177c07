"""Rules on one container's proposed cpu/memory: floors, ceilings, step size, limits vs requests,
memory vs the observed peak working set. Each rule compares exact Decimals; "exactly at a bound" passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from krr_mcp.api.policy import PolicySpec, StepLimit
from krr_mcp.api.quantities import QuantityError, format_resource_quantity, parse_resource_quantity
from krr_mcp.api.resource_recommendation import ContainerResources, ContainerUsage, RiskLevel

from .findings import Findings
from .resources import KINDS, RESOURCES, Amounts, amounts_of, fmt

# A memory limit closer than this to the observed peak is high risk (one spike from an OOM kill).
MEMORY_HEADROOM_WARNING = Decimal("1.10")


@dataclass(frozen=True)
class ContainerDelta:
    """One container: its live resources (`before`), the proposal (`after`), what was observed."""

    name: str
    before: Amounts
    after: Amounts
    usage: ContainerUsage | None = None


def check_bounds(delta: ContainerDelta, policy: PolicySpec, out: Findings) -> None:
    """Every proposed request and limit within [floor, ceiling]."""
    floors = policy.floors
    for kind in KINDS:
        for resource in RESOURCES:
            value = delta.after.get(kind, resource)
            floor_text = getattr(floors, resource) if floors else None
            if (
                value is not None
                and floor_text is not None
                and value < (floor := parse_resource_quantity(floor_text, resource))
            ):
                out.refuse(
                    "floor",
                    f"{kind}.{resource} {fmt(value, resource)} is below the floor {fmt(floor, resource)}",
                    container=delta.name,
                )
    check_ceilings(delta.name, delta.after, policy, out)


def check_ceilings(container: str, amounts: Amounts, policy: PolicySpec, out: Findings) -> None:
    """Every request and limit in `amounts` at most the policy's ceiling (also what a rollback may
    restore: `ceiling_refusals`)."""
    ceilings = policy.ceilings
    for kind in KINDS:
        for resource in RESOURCES:
            value = amounts.get(kind, resource)
            ceiling_text = getattr(ceilings, resource) if ceilings else None
            if (
                value is not None
                and ceiling_text is not None
                and value > (ceiling := parse_resource_quantity(ceiling_text, resource))
            ):
                out.refuse(
                    "ceiling",
                    f"{kind}.{resource} {fmt(value, resource)} is above the ceiling {fmt(ceiling, resource)}",
                    container=container,
                )


def ceiling_refusals(container: str, resources: Any, policy: PolicySpec) -> list[str]:
    """Why a container's `resources` (a dict as in a pod spec, from any source) break the policy's
    ceilings or are not resources at all; [] when they are within the ceilings."""
    try:
        amounts = amounts_of(resources)
    except (QuantityError, AttributeError, TypeError) as exc:
        return [f"{container}: unreadable resources ({exc})"]
    out = Findings()
    check_ceilings(container, amounts, policy, out)
    return [f"{container}: {finding.message}" for finding, _ in out.items]


def step_bounds(old: Decimal, step: StepLimit) -> tuple[Decimal | None, Decimal | None]:
    """The lowest and highest value one change may move `old` to (None: that side is unbounded)."""
    lowest = (
        old * (Decimal(100) - Decimal(str(step.maxDecreasePercent))) / Decimal(100)
        if step.maxDecreasePercent is not None
        else None
    )
    highest = old * Decimal(str(step.maxIncreaseFactor)) if step.maxIncreaseFactor is not None else None
    return lowest, highest


def _step_of(policy: PolicySpec, resource: str) -> StepLimit | None:
    return getattr(policy.maxStep, resource) if policy.maxStep else None


def check_step(delta: ContainerDelta, policy: PolicySpec, out: Findings) -> None:
    """No value moves further than the policy's max step in one recommendation (both set only)."""
    for resource in RESOURCES:
        step = _step_of(policy, resource)
        if step is None:
            continue
        for kind in KINDS:
            old, new = delta.before.get(kind, resource), delta.after.get(kind, resource)
            if old is None or new is None or old == 0:
                continue
            name = f"{kind}.{resource}"
            lowest, highest = step_bounds(old, step)
            if lowest is not None and new < lowest:
                drop = (old - new) * 100 / old
                out.refuse(
                    "max-step",
                    f"{name} {fmt(old, resource)} -> {fmt(new, resource)} drops {drop:.0f}%, "
                    f"more than the allowed {step.maxDecreasePercent:g}% in one change (lowest allowed "
                    f"{fmt(lowest, resource)})",
                    container=delta.name,
                )
            if highest is not None and new > highest:
                out.refuse(
                    "max-step",
                    f"{name} {fmt(old, resource)} -> {fmt(new, resource)} grows {new / old:.2f}x, "
                    f"more than the allowed {step.maxIncreaseFactor:g}x in one change (highest allowed "
                    f"{fmt(highest, resource)})",
                    container=delta.name,
                )


def _format_within(amount: Decimal, resource: str, down: bool) -> str:
    """`amount` as a quantity in whole millicores/bytes, rounded down (`down`) or up so a bound stays kept."""
    unit = Decimal("0.001") if resource == "cpu" else Decimal(1)
    rounded = amount.quantize(unit, rounding=ROUND_FLOOR if down else ROUND_CEILING)
    return format_resource_quantity(rounded, resource)


def within_max_step(
    current: ContainerResources, wanted: ContainerResources, policy: PolicySpec
) -> ContainerResources:
    """`wanted` with each request/limit moved at most the policy's max step from `current` (rounded
    towards `current`, so `check_step` passes); values with no current one are kept as they are."""
    sections: dict[str, dict[str, str | None]] = {}
    for kind in KINDS:
        values: dict[str, str | None] = dict(getattr(wanted, kind).model_dump())
        for resource in RESOURCES:
            step, now_text, new_text = (
                _step_of(policy, resource),
                getattr(getattr(current, kind), resource),
                values.get(resource),
            )
            if step is None or now_text is None or new_text is None:
                continue
            old, new = (
                parse_resource_quantity(now_text, resource),
                parse_resource_quantity(new_text, resource),
            )
            if old == 0:
                continue
            lowest, highest = step_bounds(old, step)
            bounded = max(new, lowest) if lowest is not None else new
            bounded = min(bounded, highest) if highest is not None else bounded
            if bounded != new:
                values[resource] = _format_within(bounded, resource, down=bounded > old)
        sections[kind] = values
    return ContainerResources.model_validate(sections)


def check_limits_not_below_requests(delta: ContainerDelta, out: Findings) -> None:
    for resource in RESOURCES:
        request, limit = delta.after.get("requests", resource), delta.after.get("limits", resource)
        if request is not None and limit is not None and limit < request:
            out.refuse(
                "limits-below-requests",
                f"limits.{resource} {fmt(limit, resource)} is below "
                f"requests.{resource} {fmt(request, resource)}",
                container=delta.name,
            )


def _decreases(delta: ContainerDelta, resource: str) -> bool:
    for kind in KINDS:
        old, new = delta.before.get(kind, resource), delta.after.get(kind, resource)
        if old is not None and new is not None and new < old:
            return True
    return False


def check_memory_vs_peak(delta: ContainerDelta, policy: PolicySpec, out: Findings) -> None:
    """Memory request and limit never below the observed peak working set; little headroom, a past OOM
    kill or a decrease without evidence raise the risk (or refuse, when the policy asks for evidence)."""
    peak_text = delta.usage.memoryPeak if delta.usage else None
    decreasing = _decreases(delta, "memory")
    if peak_text is None:
        if decreasing:
            message = "memory decreases but no peak working set was observed to check it against"
            if policy.requireUsageEvidence:
                out.refuse("memory-evidence", message, container=delta.name)
            else:
                out.warn("memory-evidence", message, risk=RiskLevel.HIGH, container=delta.name)
    else:
        peak = parse_resource_quantity(peak_text, "memory")
        for kind in KINDS:
            value = delta.after.get(kind, "memory")
            if value is not None and value < peak:
                out.refuse(
                    "memory-below-peak",
                    f"{kind}.memory {fmt(value, 'memory')} is below the observed peak working set "
                    f"{fmt(peak, 'memory')}",
                    container=delta.name,
                )
        limit = delta.after.get("limits", "memory")
        if limit is not None and peak <= limit < peak * MEMORY_HEADROOM_WARNING:
            out.warn(
                "memory-headroom",
                f"limits.memory {fmt(limit, 'memory')} leaves less than 10% over the observed peak "
                f"{fmt(peak, 'memory')}",
                risk=RiskLevel.HIGH,
                container=delta.name,
            )
    if decreasing and delta.usage is not None and delta.usage.oomKilled:
        out.warn(
            "oom-history",
            "the container was OOM-killed during the observed window and memory decreases",
            risk=RiskLevel.HIGH,
            container=delta.name,
        )


def check_direction(delta: ContainerDelta, out: Findings) -> None:
    """Report decreases and removed values (medium risk for memory, low for cpu)."""
    for resource in RESOURCES:
        if _decreases(delta, resource):
            risk = RiskLevel.MEDIUM if resource == "memory" else RiskLevel.LOW
            out.info("decrease", f"{resource} decreases", risk=risk, container=delta.name)
        for kind in KINDS:
            old, new = delta.before.get(kind, resource), delta.after.get(kind, resource)
            if old is not None and new is None:
                risk = RiskLevel.MEDIUM if (resource == "memory" or kind == "requests") else RiskLevel.LOW
                out.add(
                    "removed",
                    "warning" if risk != RiskLevel.LOW else "info",
                    f"{kind}.{resource} {fmt(old, resource)} is removed"
                    + (
                        " (no CPU limit: krr's simple strategy)"
                        if (kind, resource) == ("limits", "cpu")
                        else ""
                    ),
                    container=delta.name,
                    risk=risk,
                )


def check_container(delta: ContainerDelta, policy: PolicySpec, out: Findings) -> None:
    check_bounds(delta, policy, out)
    check_step(delta, policy, out)
    check_limits_not_below_requests(delta, out)
    check_memory_vs_peak(delta, policy, out)
    check_direction(delta, out)
