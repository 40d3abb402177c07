"""krr_mcp/sandbox."""
