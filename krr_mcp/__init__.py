"""krr-mcp command line, sandbox API server and kubectl plugin."""

from __future__ import annotations


def installed_version() -> str:
    """The installed distribution's version (pyproject.toml's, as `krr-mcp --version` and
    `kubectl krr version` print it)."""
    from importlib.metadata import version

    return version("krr-mcp")
