"""mcp_bridge/tools."""
