"""`krr-mcp sandbox`: run the local Kubernetes-compatible API server until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_KUBECONFIG = Path(".krr-mcp/sandbox.kubeconfig")


def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 0,
    kubeconfig: Annotated[
        Path, typer.Option(help="Where to write the sandbox's kubeconfig.")
    ] = DEFAULT_KUBECONFIG,
    seed: Annotated[
        str, typer.Option(help="default: sample namespaces and workloads; none: empty.")
    ] = "default",
    user: Annotated[str | None, typer.Option(help="User name `kubectl auth whoami` reports.")] = None,
) -> None:
    """Run the sandbox API server (in memory) and write a kubeconfig for it (context krr-mcp-sandbox)."""
    if seed not in ("default", "none"):
        raise typer.BadParameter("must be 'default' or 'none'", param_hint="--seed")
    from krr_mcp.api import project_crds
    from krr_mcp.sandbox import celrules
    from krr_mcp.sandbox.launch import run_sandbox  # imported here: aiohttp is slow to import

    def ready(url: str, path: Path) -> None:
        typer.echo(
            f"krr-mcp sandbox ready: {url} (kubeconfig: {path}; use: kubectl --kubeconfig {path} get ns)"
            + ("" if celrules.AVAILABLE else f"; WARNING: {celrules.NOT_ENFORCED}")
        )

    try:
        asyncio.run(
            run_sandbox(
                port=port,
                kubeconfig=kubeconfig,
                seed=seed,  # type: ignore[arg-type]
                user=user,
                crds=project_crds(),
                on_ready=ready,
            )
        )
    except OSError as exc:  # the port is taken, the kubeconfig folder is not writable, ...
        typer.echo(f"krr-mcp sandbox: cannot start: {exc}", err=True)
        raise typer.Exit(1) from exc
