"""`krr-mcp operator`."""

from __future__ import annotations

import typer


def operator() -> None:
    """Not built yet."""
    typer.echo("krr-mcp operator: not built yet", err=True)
    raise typer.Exit(2)
