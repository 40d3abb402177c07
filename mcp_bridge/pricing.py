"""The prices a scan's savings are priced with, under the cluster policy: OpenCost's, asked once per scan,
or the policy's table (`krr_mcp.kube.opencost`, shared with the operator)."""

from __future__ import annotations

import asyncio

from krr_mcp.api.policy import PolicyError
from krr_mcp.core.savings import Prices, prices_from_policy
from krr_mcp.kube.opencost import policy_prices

from .bridge import Bridge
from .cluster import ClusterError


async def bridge_prices(bridge: Bridge) -> tuple[Prices, str | None]:
    """`policy_prices` under the cluster policy; the built-in table, with a warning, when the policy cannot
    be read."""
    try:
        policy = await asyncio.to_thread(bridge.policy_for, None)  # a blocking API read
    except (ClusterError, PolicyError) as exc:
        table = prices_from_policy(None)
        return table, f"the cluster policy's prices could not be read ({exc}); priced with {table.source}"
    return await asyncio.to_thread(policy_prices, policy)  # may ask OpenCost: blocking HTTP
