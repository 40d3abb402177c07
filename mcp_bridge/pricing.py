"""The prices a scan's savings are priced with: the cluster policy's table, or OpenCost's prices when the
policy names an OpenCost endpoint (`spec.pricing.openCostUrl` of the ClusterRecommendationPolicy).

OpenCost is asked once per scan: GET `{url}/allocation?window=7d&aggregate=cluster&accumulate=true`
(its documented Allocation API), and the blended price per core-hour and GiB-hour is read from the
answer (`krr_mcp.core.savings.prices_from_opencost`). Whatever goes wrong (unreachable, an HTTP error,
another shape, no data) the scan is priced with the table and says why in one warning: nothing is lost.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from krr_mcp.api.policy import PolicyError, PolicySpec
from krr_mcp.core.savings import OpenCostError, Prices, prices_from_opencost, prices_from_policy

from .bridge import Bridge
from .cluster import ClusterError

OPENCOST_ALLOCATION = "/allocation"
OPENCOST_QUERY = {"window": "7d", "aggregate": "cluster", "accumulate": "true"}
OPENCOST_TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 8 * 1024 * 1024


async def read_opencost(url: str, currency: str, timeout: float = OPENCOST_TIMEOUT_SECONDS) -> Prices:
    """OpenCost's blended CPU and memory prices; OpenCostError saying what went wrong."""
    endpoint = url.rstrip("/") + OPENCOST_ALLOCATION
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
            response = await http.get(endpoint, params=OPENCOST_QUERY)
    except httpx.HTTPError as exc:
        raise OpenCostError(f"cannot reach it ({type(exc).__name__}: {str(exc)[:200]})") from None
    if response.status_code != 200:
        raise OpenCostError(f"it answered HTTP {response.status_code}")
    if len(response.content) > MAX_ANSWER_BYTES:
        raise OpenCostError(f"its answer is larger than {MAX_ANSWER_BYTES} bytes")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise OpenCostError("its answer is not JSON") from None
    return prices_from_opencost(body, url, currency)


async def scan_prices(policy: PolicySpec) -> tuple[Prices, str | None]:
    """The prices for a scan under `policy`, and a warning when OpenCost was configured but not used."""
    table = prices_from_policy(policy)
    url = policy.pricing.openCostUrl if policy.pricing is not None else None
    if not url:
        return table, None
    try:
        return await read_opencost(url, table.currency), None
    except OpenCostError as exc:
        return table, f"OpenCost at {url[:200]}: {exc}; the savings are priced with {table.source} instead"


async def bridge_prices(bridge: Bridge) -> tuple[Prices, str | None]:
    """`scan_prices` under the cluster policy; the built-in table (with a warning) when it cannot be read."""
    try:
        policy = await asyncio.to_thread(bridge.policy_for, None)  # a blocking API read
    except (ClusterError, PolicyError) as exc:
        table = prices_from_policy(None)
        return table, f"the cluster policy's prices could not be read ({exc}); priced with {table.source}"
    return await scan_prices(policy)
