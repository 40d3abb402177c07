"""PriceCache: OpenCost is asked once per period for every RR priced, a failure is kept for the shorter
retry period, and an edit of the policy's OpenCost URL or table asks at once (a fake reader and clock)."""

from __future__ import annotations

from decimal import Decimal

from krr_mcp.api.policy import PolicySpec, Pricing
from krr_mcp.core.savings import Prices, prices_from_policy
from krr_mcp.kube.opencost import PriceCache

OPENCOST = Prices(Decimal("0.04"), Decimal("0.005"), "EUR", "OpenCost")


def policy(url: str | None, cpu: float = 0.05) -> PolicySpec:
    return PolicySpec(pricing=Pricing(cpuPerCoreHour=cpu, currency="EUR", openCostUrl=url))


def test_asked_once_per_period_failures_retried_sooner_and_edits_ask_at_once() -> None:
    now, asked, failing = [0.0], [], [False]

    def read(spec: PolicySpec | None) -> tuple[Prices, str | None]:
        asked.append(spec)
        return (prices_from_policy(spec), "unreachable") if failing[0] else (OPENCOST, None)

    cache = PriceCache(ttl=3600, retry=300, clock=lambda: now[0], read=read)
    first = cache.get(policy("http://opencost:9003"))
    assert (first.prices, first.warning, first.asked) == (OPENCOST, None, True)
    for _ in range(1000):  # a thousand RRs priced: one asking
        assert cache.get(policy("http://opencost:9003")).asked is False
    assert len(asked) == 1
    now[0] = 3601
    failing[0] = True
    failed = cache.get(policy("http://opencost:9003"))
    assert failed.asked and failed.warning == "unreachable" and failed.prices.source != "OpenCost"
    now[0] = 3601 + 299
    assert cache.get(policy("http://opencost:9003")).warning == "unreachable"  # kept: not asked again
    assert len(asked) == 2
    now[0] = 3601 + 301
    failing[0] = False
    assert cache.get(policy("http://opencost:9003")).prices == OPENCOST and len(asked) == 3
    assert cache.get(policy("http://opencost:9003", cpu=0.06)).asked  # the table edited: asked at once
    assert cache.get(policy("http://other:9003", cpu=0.06)).asked  # another URL: asked at once
    assert len(asked) == 5
    table = cache.get(policy(None))  # no URL: the table, never asked
    assert (table.asked, table.warning, table.prices.source) == (
        False,
        None,
        prices_from_policy(policy(None)).source,
    )
    assert len(asked) == 5
