"""The prices savings are priced with: the cluster policy's table, or OpenCost's prices when the policy
names an OpenCost endpoint (`spec.pricing.openCostUrl` of the ClusterRecommendationPolicy). The one
reader the bridge (per scan) and the operator (`status.savings`, through `PriceCache`) share.

OpenCost is asked with GET `{url}/allocation?window=7d&aggregate=cluster&accumulate=true` (its
documented Allocation API) and the blended price per core-hour and GiB-hour is computed from the answer
by the pure core (`krr_mcp.core.savings.prices_from_opencost`). Whatever goes wrong (unreachable, an
HTTP error, an answer too large, another shape, no data) the table prices instead and a warning says
why: nothing is lost, and nothing is priced silently with a source other than the one named.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from krr_mcp.api.policy import PolicySpec
from krr_mcp.core.savings import OpenCostError, Prices, prices_from_opencost, prices_from_policy

OPENCOST_ALLOCATION = "/allocation"
OPENCOST_QUERY = {"window": "7d", "aggregate": "cluster", "accumulate": "true"}
OPENCOST_TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# OpenCost's prices are a 7-day blend: an hour moves them little, and every change of them rewrites the
# status.savings of every RR the operator reconciles next.
PRICES_TTL_SECONDS = 3600.0
# After OpenCost failed, the table prices for this long before OpenCost is asked again.
RETRY_SECONDS = 300.0


def read_opencost(url: str, currency: str, timeout: float = OPENCOST_TIMEOUT_SECONDS) -> Prices:
    """OpenCost's blended CPU and memory prices (blocking); OpenCostError saying what went wrong."""
    endpoint = url.rstrip("/") + OPENCOST_ALLOCATION
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as http,
            http.stream("GET", endpoint, params=OPENCOST_QUERY) as response,
        ):
            if response.status_code != 200:
                raise OpenCostError(f"it answered HTTP {response.status_code}")
            content = bytearray()
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) > MAX_ANSWER_BYTES:
                    raise OpenCostError(f"its answer is larger than {MAX_ANSWER_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise OpenCostError(f"cannot reach it ({type(exc).__name__}: {str(exc)[:200]})") from None
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise OpenCostError("its answer is not JSON (or nested too deep)") from None
    return prices_from_opencost(body, url, currency)


def opencost_url(policy: PolicySpec | None) -> str | None:
    """The OpenCost endpoint the policy names (None: price with the table)."""
    return (policy.pricing.openCostUrl if policy is not None and policy.pricing is not None else None) or None


def fallback_warning(url: str, problem: str, table: Prices) -> str:
    """Why the table priced although the policy names OpenCost."""
    return f"OpenCost at {url[:200]}: {problem}; the savings are priced with {table.source} instead"


def policy_prices(
    policy: PolicySpec | None, timeout: float = OPENCOST_TIMEOUT_SECONDS
) -> tuple[Prices, str | None]:
    """The prices under `policy` (blocking: it may ask OpenCost), and a warning when OpenCost was named
    but the table priced."""
    table = prices_from_policy(policy)
    url = opencost_url(policy)
    if url is None:
        return table, None
    try:
        return read_opencost(url, table.currency, timeout), None
    except OpenCostError as exc:
        return table, fallback_warning(url, str(exc), table)


@dataclass(frozen=True)
class Priced:
    """One answer of `PriceCache.get`: the prices, the warning when the table stood in for OpenCost,
    and whether this call asked OpenCost (the caller reports a warning once per asking, not per use)."""

    prices: Prices
    warning: str | None
    asked: bool


class PriceCache:
    """`policy_prices` kept for `ttl` seconds (`retry` after OpenCost failed) while the policy's OpenCost
    URL and price table stay the same: many RRs priced in a row ask OpenCost once. Thread-safe; one
    asking at a time (the others wait for its answer rather than asking too)."""

    def __init__(
        self,
        ttl: float = PRICES_TTL_SECONDS,
        retry: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        read: Callable[[PolicySpec | None], tuple[Prices, str | None]] = policy_prices,
    ) -> None:
        self.ttl, self.retry, self.clock, self.read = ttl, retry, clock, read
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, Prices], tuple[float, Prices, str | None]] = {}

    def get(self, policy: PolicySpec | None) -> Priced:
        """The prices under `policy`; without an OpenCost URL, the table (never cached: it is the policy)."""
        url = opencost_url(policy)
        if url is None:
            return Priced(prices_from_policy(policy), None, asked=False)
        key = (url, prices_from_policy(policy))
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and self.clock() < kept[0]:
                return Priced(kept[1], kept[2], asked=False)
            prices, warning = self.read(policy)
            until = self.clock() + (self.retry if warning else self.ttl)
            self._kept = {key: (until, prices, warning)}  # one cluster policy: its edit drops the old
            return Priced(prices, warning, asked=True)
