"""The `krr-mcp` console script: one subcommand per job, each defined in the module that owns it."""

from __future__ import annotations

from typing import Annotated

import typer

from krr_mcp import installed_version
from krr_mcp.commands import cluster, crds, demo, operator, sandbox, serve

app = typer.Typer(
    help="krr-mcp: right-size Kubernetes workloads with an AI assistant; a human approves every change.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.command("sandbox")(sandbox.sandbox)
app.command("operator")(operator.operator)
app.command("serve")(serve.serve)
app.add_typer(crds.app, name="crds")
app.add_typer(cluster.app, name="cluster")


@app.command()
def version() -> None:
    """Print the version."""
    print(installed_version())


def _print_version(requested: bool) -> None:
    if requested:
        version()
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The options before a subcommand (the help text is the Typer app's)."""


if __name__ == "__main__":
    app()
