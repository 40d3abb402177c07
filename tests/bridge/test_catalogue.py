"""The tool catalogue an assistant sees: schemas, output schemas, annotations, read-only mode."""

from __future__ import annotations

import json

from mcp import Client
from mcp.server.mcpserver import MCPServer

from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings
from mcp_bridge.tools import WRITING_TOOLS

ALL_TOOLS = {
    "scan_recommendations",
    "explain_recommendation",
    "preview_change",
    "propose_change",
    "list_recommendations",
    "get_recommendation",
    "request_rollback_proposal",
    "audit_trail",
}


async def test_every_tool_is_typed_annotated_and_structured(server: MCPServer) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == ALL_TOOLS
    for name, tool in tools.items():
        assert tool.description, name
        assert tool.output_schema and tool.output_schema.get("type") == "object", name
        hints = tool.annotations
        assert hints is not None, name
        assert None not in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ), name
        assert hints.destructive_hint is False, name  # the bridge never deletes or overwrites anything
        assert hints.read_only_hint is (name not in WRITING_TOOLS), name
    namespace = tools["get_recommendation"].input_schema["properties"]["namespace"]
    assert namespace["pattern"].startswith("^[a-z0-9]") and namespace["maxLength"] == 63
    assert "approv" not in json.dumps(tools["propose_change"].input_schema).lower()


async def test_read_only_server_has_no_writing_tool(settings: BridgeSettings) -> None:
    server = build_server(BridgeSettings(kubeconfig=settings.kubeconfig, read_only=True))
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == ALL_TOOLS - WRITING_TOOLS
    assert {"propose_change", "request_rollback_proposal"} == WRITING_TOOLS
