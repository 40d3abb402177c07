"""Kubernetes quantities for CPU and memory: parsing that refuses what the API server refuses.

`kubernetes.utils.quantity.parse_quantity` is exact (Decimal) but also accepts `NaN`, `Infinity` and
negative numbers; a resource quantity is none of those. Every quantity that enters the product goes
through `parse_resource_quantity`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

from kubernetes.utils.quantity import format_quantity, parse_quantity

ResourceName = Literal["cpu", "memory"]

# The grammar of a Kubernetes quantity (k8s.io/apimachinery resource.Quantity), as a JSON-schema
# pattern for the CRD: sign, digits with an optional fraction, then a binary/decimal SI suffix or
# a decimal exponent. Negative values are excluded here on purpose: resources are never negative.
QUANTITY_PATTERN = r"^(\+)?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"

# Sanity ceilings: far above any real container, far below what overflows the API server's int64
# milli-units. A quantity above these is a bug or an attack, never a recommendation.
MAX_CPU_CORES = Decimal(100_000)
MAX_MEMORY_BYTES = Decimal(2**60)  # 1 EiB

_CEILINGS: dict[str, Decimal] = {"cpu": MAX_CPU_CORES, "memory": MAX_MEMORY_BYTES}


class QuantityError(ValueError):
    """A quantity that is not a legal, sane amount of CPU or memory."""


def parse_resource_quantity(value: str | int | float | Decimal, resource: str = "cpu") -> Decimal:
    """Parse a CPU (cores) or memory (bytes) quantity; raise QuantityError naming what was wrong.

    Accepts every spelling Kubernetes accepts (`0.5`, `500m`, `1Gi`, `1e3`, `1000Mi`); refuses NaN,
    infinities, negative values, values above the sanity ceiling and anything that is not a quantity.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise QuantityError(f"{resource} quantity must be a string or number, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise QuantityError(f"{resource} quantity is empty")
    if len(text) > 64:
        raise QuantityError(f"{resource} quantity is too long ({len(text)} characters)")
    lowered = text.lower()
    if "nan" in lowered or "inf" in lowered:
        raise QuantityError(f"{resource} quantity {text!r} is not a finite number")
    try:
        amount = Decimal(parse_quantity(text))
    except (ValueError, InvalidOperation, TypeError) as exc:
        raise QuantityError(f"{resource} quantity {text!r} is not a Kubernetes quantity") from exc
    if not amount.is_finite():
        raise QuantityError(f"{resource} quantity {text!r} is not a finite number")
    if amount < 0:
        raise QuantityError(f"{resource} quantity {text!r} is negative")
    ceiling = _CEILINGS.get(resource)
    if ceiling is not None and amount > ceiling:
        raise QuantityError(f"{resource} quantity {text!r} exceeds the sanity ceiling of {ceiling}")
    return amount


def quantity_or_none(value: str | None, resource: str) -> Decimal | None:
    """`parse_resource_quantity`, or None when the value is absent or not a sane quantity."""
    if value is None:
        return None
    try:
        return parse_resource_quantity(value, resource)
    except QuantityError:
        return None


def format_cpu(cores: Decimal) -> str:
    """Format CPU cores the way krr and kubectl show them: whole millicores (`250m`) or cores (`2`)."""
    millis = (cores * 1000).to_integral_value(rounding="ROUND_CEILING")
    if millis % 1000 == 0:
        return str(int(millis // 1000))
    return f"{int(millis)}m"


def format_memory(num_bytes: Decimal) -> str:
    """Format bytes with the largest binary suffix that divides them exactly (`256Mi`, `1Gi`)."""
    value = num_bytes.to_integral_value(rounding="ROUND_CEILING")
    for suffix, factor in (
        ("Ei", 2**60),
        ("Pi", 2**50),
        ("Ti", 2**40),
        ("Gi", 2**30),
        ("Mi", 2**20),
        ("Ki", 2**10),
    ):
        if value >= factor and value % factor == 0:
            return format_quantity(value, suffix)
    return str(int(value))


def format_resource_quantity(amount: Decimal, resource: str) -> str:
    """Format an amount for `resource` (cpu: cores, memory: bytes)."""
    return format_cpu(amount) if resource == "cpu" else format_memory(amount)
