"""The generated tools reference covers every live tool, argument, resource and prompt."""

from __future__ import annotations

import anyio
from kubernetes import client

from mcp_bridge.docs import tools_reference_markdown
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings


def test_reference_lists_every_tool_and_argument() -> None:
    page = tools_reference_markdown()
    server = build_server(BridgeSettings(), api_client=client.ApiClient())
    tools = anyio.run(server.list_tools)
    assert len(tools) == 8
    for tool in tools:
        assert f"## `{tool.name}`" in page
        for argument in tool.input_schema.get("properties", {}):
            assert f"| `{argument}` |" in page, (tool.name, argument)
    assert "krr://recommendations/{namespace}/{name}" in page and "right_size_namespace" in page
    assert "readOnlyHint `False`" in page  # the writing tools say so
