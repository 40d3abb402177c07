"""`krr-mcp serve`."""

from __future__ import annotations

import typer


def serve() -> None:
    """Not built yet."""
    typer.echo("krr-mcp serve: not built yet", err=True)
    raise typer.Exit(2)
