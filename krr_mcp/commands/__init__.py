"""Subcommands of `krr-mcp`; each module is owned by the component it starts."""
