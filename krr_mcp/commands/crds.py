"""`krr-mcp crds`: generate crds/ from the pydantic models."""

from __future__ import annotations

import typer

app = typer.Typer(help="The project's CustomResourceDefinitions, generated from the pydantic models.")


@app.command("generate")
def generate() -> None:
    """Not built yet."""
    typer.echo("krr-mcp crds generate: not built yet", err=True)
    raise typer.Exit(2)
