"""Refuse tool arguments a tool does not declare.

The SDK drops undeclared top-level arguments silently, so a misspelt `namepsace` would quietly list
every namespace, and a smuggled `approved` would be ignored without a word. This middleware answers
such a call with a tool error naming the unknown arguments and the ones the tool takes.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent


class RejectUnknownArguments:
    """Server middleware: a `tools/call` with undeclared arguments gets `isError` and runs nothing."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._declared: dict[str, set[str]] | None = None

    async def declared(self) -> dict[str, set[str]]:
        if self._declared is None:
            tools = await self.server.list_tools()
            self._declared = {t.name: set((t.input_schema or {}).get("properties") or {}) for t in tools}
        return self._declared

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        if ctx.method == "tools/call" and isinstance(params.get("arguments"), dict):
            allowed = (await self.declared()).get(str(params.get("name")))
            unknown = sorted(set(params["arguments"]) - allowed) if allowed is not None else []
            if unknown:
                shown = ", ".join(repr(u[:64]) for u in unknown[:10])
                text = (
                    f"Error executing tool {params['name']}: unknown argument(s) {shown}; "
                    f"it takes: {', '.join(sorted(allowed or ())) or 'no arguments'}"
                )
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        return await call_next(ctx)
