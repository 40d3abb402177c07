"""`krr-mcp sandbox`."""

from __future__ import annotations

import typer


def sandbox() -> None:
    """Not built yet."""
    typer.echo("krr-mcp sandbox: not built yet", err=True)
    raise typer.Exit(2)
