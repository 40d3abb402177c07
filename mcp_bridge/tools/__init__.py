"""The bridge's MCP tools. Read-only tools are always registered; writing ones only without --read-only."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from ..bridge import Bridge
from . import preview, propose, rollback, scan, views

WRITING_TOOLS = frozenset({"propose_change", "request_rollback_proposal"})


def register_tools(server: MCPServer, bridge: Bridge) -> None:
    """Register every tool; the ones in WRITING_TOOLS only when the bridge is not read-only."""
    scan.register(server, bridge)
    preview.register(server, bridge)
    views.register(server, bridge)
    if not bridge.settings.read_only:
        propose.register(server, bridge)
        rollback.register(server, bridge)
