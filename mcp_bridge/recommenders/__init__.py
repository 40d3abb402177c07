"""mcp_bridge/recommenders."""
