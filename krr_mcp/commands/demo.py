"""`krr-mcp demo`: the README's first command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def demo(
    kubeconfig: Annotated[
        str | None, typer.Option("--kubeconfig", help="Run against this cluster instead of a local sandbox.")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="The kubeconfig context to use.")] = None,
    cluster: Annotated[
        str,
        typer.Option(
            "--cluster",
            help="Without --kubeconfig: sandbox (the in-process API server) or real (a real control plane "
            "built by `krr-mcp cluster build`, each component under its own identity).",
        ),
    ] = "sandbox",
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Only scan this namespace (default: every namespace)."),
    ] = None,
    run_operator: Annotated[
        bool, typer.Option("--run-operator", help="With --kubeconfig: run the operator in this process.")
    ] = False,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            help="Keep the local cluster (and operator) up afterwards for kubectl; prints its kubeconfig.",
        ),
    ] = False,
    interactive: Annotated[
        bool | None,
        typer.Option(
            "--interactive/--non-interactive",
            help="Ask before approving (default: when stdin is a terminal).",
        ),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="Scan with this Prometheus (default: start one with generated history for the sandbox).",
        ),
    ] = None,
    mcp_transport: Annotated[
        str,
        typer.Option(
            "--mcp-transport",
            help="stdio: spawn `krr-mcp serve`; in-process: the bridge inside this process.",
        ),
    ] = "stdio",
    state_dir: Annotated[
        Path,
        typer.Option("--state-dir", help="Where the local cluster's kubeconfig and the logs are written."),
    ] = Path(".krr-mcp"),
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds to wait for each operator step (default 30; 120 on real)."),
    ] = None,
) -> None:
    """Run the whole loop: a sandbox cluster (or a real control plane), Prometheus, the operator; an
    assistant scans and proposes through MCP; a human approves with kubectl; the operator applies; a
    rollback restores it exactly."""
    from krr_mcp.demo import DemoOptions, run_demo
    from krr_mcp.demo.options import CLUSTERS

    if cluster not in CLUSTERS:
        raise typer.BadParameter(f"must be one of {', '.join(CLUSTERS)}", param_hint="--cluster")
    if cluster != "sandbox" and kubeconfig:
        raise typer.BadParameter(
            "--cluster starts a local cluster: leave out --kubeconfig", param_hint="--cluster"
        )
    if mcp_transport not in ("stdio", "in-process"):
        raise typer.BadParameter("must be stdio or in-process", param_hint="--mcp-transport")
    options = DemoOptions(
        kubeconfig=kubeconfig,
        cluster=cluster,
        context=context,
        namespace=namespace,
        run_operator=run_operator,
        keep_running=keep_running,
        interactive=sys.stdin.isatty() if interactive is None else interactive,
        prometheus_url=prometheus_url,
        mcp_transport=mcp_transport,
        timeout=timeout if timeout is not None else (120.0 if cluster == "real" else 30.0),
        state_dir=state_dir.absolute(),
    )
    raise typer.Exit(run_demo(options))
