"""What a change saves, as pure functions: request changes, replicas, prices -> `Savings`.

Savings are (current - proposed) CPU and memory *requests* (what the scheduler reserves and cost tools
allocate), times the pods that run the template, priced per core-hour and GiB-hour over a 730-hour
month. Positive saves; negative costs more. A resource not requested on one side counts 0 for that
container (nothing to compare; the scan's `savings` says None for it).

Prices come from the cluster policy's `pricing` (the built-in table when unset) or, when the policy names
an OpenCost endpoint, from OpenCost's `/allocation` answer (`prices_from_opencost`); the I/O that asks
OpenCost lives with the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from krr_mcp.api.policy import (
    BUILTIN_POLICY,
    DEFAULT_PRICES_SOURCE,
    HOURS_PER_MONTH,
    MAX_PRICE_PER_HOUR,
    PolicySpec,
    Pricing,
)
from krr_mcp.api.quantities import quantity_or_none
from krr_mcp.api.resource_recommendation import ContainerResources, Phase, Savings

GIB = Decimal(2**30)
RESOURCES = ("cpu", "memory")


@dataclass(frozen=True)
class Prices:
    """Per core-hour and per GiB-hour, in `currency`; `source` says where they came from."""

    cpu_per_core_hour: Decimal
    memory_per_gib_hour: Decimal
    currency: str
    source: str


class OpenCostError(ValueError):
    """OpenCost's answer holds no usable prices; the message says what was wrong."""


def prices_from_policy(policy: PolicySpec | None) -> Prices:
    """The policy's price table (the built-in defaults for what it leaves unset)."""
    builtin = BUILTIN_POLICY.pricing or Pricing()
    pricing = (policy.pricing if policy is not None else None) or Pricing()
    cpu = pricing.cpuPerCoreHour if pricing.cpuPerCoreHour is not None else builtin.cpuPerCoreHour
    memory = pricing.memoryPerGiBHour if pricing.memoryPerGiBHour is not None else builtin.memoryPerGiBHour
    currency = pricing.currency or builtin.currency or "USD"
    same = (cpu, memory, currency) == (builtin.cpuPerCoreHour, builtin.memoryPerGiBHour, builtin.currency)
    return Prices(
        cpu_per_core_hour=Decimal(repr(cpu)),
        memory_per_gib_hour=Decimal(repr(memory)),
        currency=currency,
        source=DEFAULT_PRICES_SOURCE if same else "the ClusterRecommendationPolicy's price table",
    )


def _number(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OpenCostError(f"{what} is not a number: {value!r:.80}")
    number = Decimal(repr(value))
    if not number.is_finite() or number < 0:
        raise OpenCostError(f"{what} is not a finite non-negative number: {value!r:.80}")
    return number


def prices_from_opencost(body: Any, url: str, currency: str) -> Prices:
    """Blended prices from OpenCost's `/allocation` answer (`{"code": 200, "data": [{name: allocation}]}`):
    the sums of cpuCost / cpuCoreHours and ramCost / (ramByteHours / 2^30) over every allocation.

    `currency` is the policy's (OpenCost reports in the currency it is configured with). Raises
    OpenCostError when the answer has another shape, an error code, no core-hours or byte-hours, or a
    price above MAX_PRICE_PER_HOUR (what the policy's table may hold).
    """
    if not isinstance(body, dict):
        raise OpenCostError("the answer is not a JSON object")
    if body.get("code") != 200:
        raise OpenCostError(
            f"the answer's code is {body.get('code')!r:.40}: {str(body.get('message', ''))[:200]}"
        )
    sets = body.get("data")
    if not isinstance(sets, list):
        raise OpenCostError("the answer has no data list")
    sums = dict.fromkeys(("cpuCost", "cpuCoreHours", "ramCost", "ramByteHours"), Decimal(0))
    for allocation_set in sets:
        if allocation_set is None:
            continue
        if not isinstance(allocation_set, dict):
            raise OpenCostError("an allocation set is not an object")
        for name, allocation in allocation_set.items():
            if not isinstance(allocation, dict):
                raise OpenCostError(f"allocation {str(name)[:80]!r} is not an object")
            for key in sums:
                sums[key] += _number(allocation.get(key, 0), f"{str(name)[:80]}.{key}")
    if sums["cpuCoreHours"] <= 0 or sums["ramByteHours"] <= 0:
        raise OpenCostError("the answer has no CPU core-hours or memory byte-hours to price")
    cpu, memory = sums["cpuCost"] / sums["cpuCoreHours"], sums["ramCost"] / (sums["ramByteHours"] / GIB)
    for what, value in (("core-hour", cpu), ("GiB-hour", memory)):
        if value > MAX_PRICE_PER_HOUR:
            raise OpenCostError(f"its price per {what} ({value:.6g}) is above {MAX_PRICE_PER_HOUR:,}")
    return Prices(
        cpu_per_core_hour=cpu,
        memory_per_gib_hour=memory,
        currency=currency,
        source=f"OpenCost at {url[:200]} (/allocation, the last 7 days)",
    )


def request_change(
    current: ContainerResources | dict[str, Any] | None,
    proposed: ContainerResources | dict[str, Any] | None,
    resource: str,
) -> Decimal | None:
    """current - proposed request of `resource` (cores or bytes); None when either side sets none
    or a value does not parse."""

    def request(resources: ContainerResources | dict[str, Any] | None) -> Decimal | None:
        if isinstance(resources, ContainerResources):
            return quantity_or_none(getattr(resources.requests, resource), resource)
        return quantity_or_none(((resources or {}).get("requests") or {}).get(resource), resource)

    now, new = request(current), request(proposed)
    if now is None or new is None:
        return None
    return now - new


def price(cpu_cores: Decimal, memory_bytes: Decimal, replicas: int, prices: Prices) -> Savings:
    """The savings of freeing `cpu_cores` and `memory_bytes` per pod on `replicas` pods."""
    cpu, memory = cpu_cores * replicas, memory_bytes * replicas
    hourly = cpu * prices.cpu_per_core_hour + memory / GIB * prices.memory_per_gib_hour
    monthly = (hourly * HOURS_PER_MONTH).quantize(Decimal("0.01"))
    return Savings(
        replicas=replicas,
        cpuCores=float(cpu),
        memoryBytes=float(memory),
        monthly=float(monthly),
        currency=prices.currency,
        cpuPerCoreHour=float(prices.cpu_per_core_hour),
        memoryPerGiBHour=float(prices.memory_per_gib_hour),
        pricesFrom=prices.source,
        perMonth=f"{monthly} {prices.currency}",
    )


def change_savings(containers: list[dict[str, Any]], replicas: int, prices: Prices) -> Savings:
    """The savings of an RR's `spec.containers` (current -> proposed requests) on `replicas` pods."""
    per_pod = {r: Decimal(0) for r in RESOURCES}
    for container in containers:
        for resource in RESOURCES:
            change = request_change(container.get("current"), container.get("proposed"), resource)
            per_pod[resource] += change or 0
    return price(per_pod["cpu"], per_pod["memory"], replicas, prices)


def monthly_savings(rr: dict[str, Any]) -> tuple[Decimal, str] | None:
    """The operator's `status.savings` of an RR as (money per month, currency); None when absent or
    malformed."""
    savings = (rr.get("status") or {}).get("savings")
    if not isinstance(savings, dict):
        return None
    monthly, currency = savings.get("monthly"), savings.get("currency")
    if isinstance(monthly, bool) or not isinstance(monthly, int | float) or not isinstance(currency, str):
        return None
    try:
        amount = Decimal(repr(monthly))
    except InvalidOperation:
        return None
    return (amount, currency) if amount.is_finite() else None


class Standing(StrEnum):
    """What an RR's saving counts as in a sum."""

    OPEN = "open"  # a live proposal: what applying it would save
    APPLIED = "applied"  # an applied change: what it saves now


OPEN_PHASES = frozenset({Phase.PROPOSED, Phase.APPROVED, Phase.APPLYING})


@dataclass(frozen=True)
class CountedSaving:
    standing: Standing
    amount: Decimal
    currency: str


def counted_saving(rr: dict[str, Any]) -> CountedSaving | None:
    """How an RR's `status.savings` counts in sums: OPEN while it is a live proposal (Proposed, Approved,
    Applying) that nobody refused (`spec.rejected`), APPLIED once Applied, and None otherwise: not
    priced, refused, or ended any other way (Rejected, Expired, Superseded, Stale, Failed, RollingBack,
    RolledBack): a change that will not happen, or was undone, saves nothing."""
    found = monthly_savings(rr)
    if found is None:
        return None
    phase = (rr.get("status") or {}).get("phase") or Phase.PROPOSED
    if phase == Phase.APPLIED:
        return CountedSaving(Standing.APPLIED, *found)
    if phase in OPEN_PHASES and (rr.get("spec") or {}).get("rejected") is not True:
        return CountedSaving(Standing.OPEN, *found)
    return None


@dataclass
class SavingsSums:
    """Money per month per currency (sorted) of the open proposals and of the applied changes, and how
    many priced RRs each sum counts."""

    open: dict[str, Decimal] = field(default_factory=dict)
    applied: dict[str, Decimal] = field(default_factory=dict)
    open_count: dict[str, int] = field(default_factory=dict)
    applied_count: dict[str, int] = field(default_factory=dict)

    def add(self, saving: CountedSaving) -> None:
        amounts, counts = (
            (self.open, self.open_count)
            if saving.standing is Standing.OPEN
            else (self.applied, self.applied_count)
        )
        amounts[saving.currency] = amounts.get(saving.currency, Decimal(0)) + saving.amount
        counts[saving.currency] = counts.get(saving.currency, 0) + 1

    def currencies(self) -> list[str]:
        return sorted({*self.open, *self.applied})

    def per_month(self, standing: Standing) -> dict[str, float]:
        """The open or the applied sum as {currency: amount}, sorted by currency."""
        amounts = self.open if standing is Standing.OPEN else self.applied
        return {currency: float(amount) for currency, amount in sorted(amounts.items())}


def savings_sums(savings: Iterable[tuple[str, CountedSaving | None]]) -> dict[str, SavingsSums]:
    """(namespace, counted_saving(rr)) pairs summed per namespace (sorted) and over all of them under
    "" (first); RRs that do not count (None) count in none. The one sum the plugin and the bridge show."""
    sums: dict[str, SavingsSums] = {"": SavingsSums()}
    for namespace, saving in savings:
        in_namespace = sums.setdefault(namespace, SavingsSums())
        if saving is not None:
            in_namespace.add(saving)
            sums[""].add(saving)
    return {"": sums.pop(""), **dict(sorted(sums.items()))}
