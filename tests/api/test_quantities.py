"""Quantities in every legal spelling parse by value; illegal ones are refused with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from krr_mcp.api.quantities import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_resource_quantity,
)
from krr_mcp.api.resource_recommendation import ResourceAmounts
from krr_mcp.core.workloads import same_cpu_memory


@pytest.mark.parametrize(
    ("text", "resource", "value"),
    [
        ("0.5", "cpu", Decimal("0.5")),
        ("500m", "cpu", Decimal("0.5")),
        ("1", "cpu", Decimal(1)),
        ("1000m", "cpu", Decimal(1)),
        ("+2", "cpu", Decimal(2)),
        (".25", "cpu", Decimal("0.25")),
        ("1e3", "cpu", Decimal(1000)),
        ("1E-3", "cpu", Decimal("0.001")),
        ("100u", "cpu", Decimal("0.0001")),
        ("1Gi", "memory", Decimal(2**30)),
        ("1024Mi", "memory", Decimal(2**30)),
        ("1000Mi", "memory", Decimal(1000 * 2**20)),
        ("1G", "memory", Decimal(10**9)),
        ("128974848", "memory", Decimal(128974848)),
        ("129e6", "memory", Decimal(129000000)),
        ("123Ki", "memory", Decimal(123 * 1024)),
        ("0", "memory", Decimal(0)),
    ],
)
def test_legal_spellings(text: str, resource: str, value: Decimal) -> None:
    assert parse_resource_quantity(text, resource) == value
    assert ResourceAmounts.model_validate({resource: text}).model_dump(exclude_none=True) == {resource: text}


@pytest.mark.parametrize(
    ("text", "resource", "why"),
    [
        ("", "cpu", "empty"),
        ("-1", "cpu", "negative"),
        ("NaN", "cpu", "finite"),
        ("Infinity", "memory", "finite"),
        ("1GB", "memory", "not a Kubernetes quantity"),
        ("1.5 cores", "cpu", "not a Kubernetes quantity"),
        ("abc", "cpu", "not a Kubernetes quantity"),
        ("1Zi", "memory", "not a Kubernetes quantity"),
        ("1e400", "cpu", "ceiling"),
        ("2Ei", "memory", "ceiling"),
        ("1" * 70, "cpu", "too long"),
    ],
)
def test_illegal_spellings_are_refused_with_a_reason(text: str, resource: str, why: str) -> None:
    with pytest.raises(QuantityError, match=why):
        parse_resource_quantity(text, resource)
    with pytest.raises(ValueError):
        ResourceAmounts.model_validate({resource: text})


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"requests": {"cpu": "1000m"}}, {"requests": {"cpu": "1"}}, True),
        ({"requests": {"memory": "1Gi"}}, {"requests": {"memory": "1024Mi"}}, True),
        ({"requests": {"memory": "1G"}}, {"requests": {"memory": "1Gi"}}, False),
        ({"requests": {"cpu": "1"}}, {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}, False),
        ({"requests": {"cpu": "1", "ephemeral-storage": "1Gi"}}, {"requests": {"cpu": "1"}}, True),
        ({"requests": {}}, {}, True),
        ({"requests": {"cpu": "bogus"}}, {"requests": {"cpu": "bogus"}}, False),
    ],
)
def test_resources_compare_by_value(a: dict, b: dict, same: bool) -> None:
    assert same_cpu_memory(a, b) is same


def test_formatting() -> None:
    assert format_cpu(Decimal("0.25")) == "250m"
    assert format_cpu(Decimal(2)) == "2"
    assert format_memory(Decimal(2**30)) == "1Gi"
    assert format_memory(Decimal(1000)) == "1000"
