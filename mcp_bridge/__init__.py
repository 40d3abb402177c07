"""krr-mcp MCP bridge: tools an AI assistant uses to scan, explain and propose (never approve)."""
