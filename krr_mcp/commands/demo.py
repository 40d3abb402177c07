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
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Only scan this namespace (default: every namespace)."),
    ] = None,
    run_operator: Annotated[
        bool, typer.Option("--run-operator", help="With --kubeconfig: run the operator in this process.")
    ] = False,
    keep_running: Annotated[
        bool,
        typer.Option("--keep-running", help="Keep the sandbox (and operator) up afterwards for kubectl."),
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
        Path, typer.Option("--state-dir", help="Where the sandbox's kubeconfig and the logs are written.")
    ] = Path(".krr-mcp"),
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each operator step.")
    ] = 30.0,
) -> None:
    """Run the whole loop: a sandbox cluster, Prometheus, the operator; an assistant scans and proposes
    through MCP; a human approves with kubectl; the operator applies; a rollback restores it exactly."""
    from krr_mcp.demo import DemoOptions, run_demo

    if mcp_transport not in ("stdio", "in-process"):
        raise typer.BadParameter("must be stdio or in-process", param_hint="--mcp-transport")
    options = DemoOptions(
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        run_operator=run_operator,
        keep_running=keep_running,
        interactive=sys.stdin.isatty() if interactive is None else interactive,
        prometheus_url=prometheus_url,
        mcp_transport=mcp_transport,
        timeout=timeout,
        state_dir=state_dir.absolute(),
    )
    raise typer.Exit(run_demo(options))
