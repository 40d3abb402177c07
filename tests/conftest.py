"""Shared fixtures. The sandbox API server's fixtures come from its own pytest plugin, so tests and
`krr-mcp sandbox` run one implementation."""

pytest_plugins = ["krr_mcp.sandbox.testing"]
