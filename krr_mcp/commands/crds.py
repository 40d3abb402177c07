"""`krr-mcp crds generate`: write crds/ from the pydantic models (`--check`: exit 1 when crds/ drifted)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The project's CustomResourceDefinitions, generated from the pydantic models.")


def default_dir() -> Path:
    """The checkout's crds/ (the current directory's when it is a checkout, else the one beside the
    pyproject.toml above this package); ./crds when krr-mcp runs from an installed package."""
    cwd = Path.cwd()
    if (cwd / "crds").is_dir() and (cwd / "pyproject.toml").is_file():
        return cwd / "crds"
    for parent in Path(__file__).resolve().parents:
        if (parent / "crds").is_dir() and (parent / "pyproject.toml").is_file():
            return parent / "crds"
    return Path("crds")


@app.callback()
def _group() -> None:
    """The project's CustomResourceDefinitions, generated from the pydantic models."""


@app.command("generate")
def generate(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the YAML (default: the checkout's crds/)."),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 on drift.")] = False,
) -> None:
    """Generate one CRD YAML file per registered model (krr_mcp/api CRD_MODELS)."""
    from krr_mcp.api import CRD_MODELS
    from krr_mcp.api.crdgen import drift
    from krr_mcp.api.crdgen import generate as generate_files

    output = output or default_dir()
    if check:
        stale = drift(CRD_MODELS, output)
        for line in stale:
            typer.echo(line, err=True)
        if stale:
            typer.echo("crds/ is out of date: run `krr-mcp crds generate`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{len(CRD_MODELS)} CRD(s) in {output} match the models")
        return
    output.mkdir(parents=True, exist_ok=True)
    for path, text in generate_files(CRD_MODELS, output).items():
        changed = not path.exists() or path.read_text() != text
        if changed:
            path.write_text(text)
        typer.echo(f"{'wrote' if changed else 'unchanged'} {path}")
