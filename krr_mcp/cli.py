"""The `krr-mcp` console script: one subcommand per job, each defined in the module that owns it."""

from __future__ import annotations

import typer

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
    from importlib.metadata import version as package_version

    print(package_version("krr-mcp"))


if __name__ == "__main__":
    app()
