"""Prometheus metrics of the bridge: tool calls, tool errors and latency, per tool.

`ToolMetrics` is server middleware (counts every `tools/call`, whatever it returns or raises);
`with_metrics(app)` answers GET /metrics on the streamable HTTP app (behind the same bearer token).
"""

from __future__ import annotations

import time
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app
from starlette.types import ASGIApp, Receive, Scope, Send

REGISTRY = CollectorRegistry()
TOOL_CALLS = Counter("krr_mcp_bridge_tool_calls", "MCP tool calls, by tool", ["tool"], registry=REGISTRY)
TOOL_ERRORS = Counter(
    "krr_mcp_bridge_tool_errors",
    "MCP tool calls that ended in an error, by tool",
    ["tool"],
    registry=REGISTRY,
)
TOOL_SECONDS = Histogram(
    "krr_mcp_bridge_tool_seconds",
    "Time to answer an MCP tool call, by tool",
    ["tool"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)


UNKNOWN_TOOL = "(unknown)"


class ToolMetrics:
    """Server middleware: count and time every `tools/call`, labelled by the tool's name when the
    server has such a tool and by UNKNOWN_TOOL otherwise (a caller cannot grow the label set)."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server

    def label(self, name: object) -> str:
        return name if isinstance(name, str) and self.server._tool_manager.get_tool(name) else UNKNOWN_TOOL

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        tool = self.label((ctx.params or {}).get("name"))
        TOOL_CALLS.labels(tool=tool).inc()
        started = time.perf_counter()
        try:
            result = await call_next(ctx)
        except BaseException:
            TOOL_ERRORS.labels(tool=tool).inc()
            raise
        finally:
            TOOL_SECONDS.labels(tool=tool).observe(time.perf_counter() - started)
        if getattr(result, "is_error", False) or (isinstance(result, dict) and result.get("isError")):
            TOOL_ERRORS.labels(tool=tool).inc()
        return result


def with_metrics(app: ASGIApp) -> ASGIApp:
    """`app`, with GET /metrics answered from the bridge's registry."""
    metrics = make_asgi_app(registry=REGISTRY)

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == "/metrics":
            await metrics(scope, receive, send)
            return
        await app(scope, receive, send)

    return routed
