"""`krr-mcp demo`."""

from __future__ import annotations

import typer


def demo() -> None:
    """Not built yet."""
    typer.echo("krr-mcp demo: not built yet", err=True)
    raise typer.Exit(2)
