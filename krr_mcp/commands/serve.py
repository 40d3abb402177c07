"""`krr-mcp serve`: the MCP bridge over stdio (what desktop assistants launch) or streamable HTTP."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import anyio
import typer


class Transport(StrEnum):
    STDIO = "stdio"
    HTTP = "http"


class Source(StrEnum):
    AUTO = "auto"
    KRR = "krr"
    NATIVE = "native"
    REPORT = "report"


def serve(
    transport: Annotated[
        Transport, typer.Option(help="stdio (default) or http (streamable HTTP).")
    ] = Transport.STDIO,
    host: Annotated[str, typer.Option(help="HTTP bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8765,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Drop every tool that writes (proposals).")
    ] = False,
    kubeconfig: Annotated[
        str | None, typer.Option(help="Kubeconfig file (default: in-cluster, else ~/.kube/config).")
    ] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
    prometheus_url: Annotated[
        str | None, typer.Option(help="Prometheus for the native engine (and krr).")
    ] = None,
    source: Annotated[
        Source,
        typer.Option(
            help="Recommender: auto (the --scan-report, else krr CLI if on PATH), krr, native or report."
        ),
    ] = Source.AUTO,
    scan_report: Annotated[
        Path | None,
        typer.Option(
            "--scan-report",
            help="Scan from this saved report (krr -f json output or a krr-mcp scan result JSON) instead of "
            "a live source; results say so.",
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A Host name clients use to reach the HTTP server (repeatable); needed with a wildcard "
            "--host such as 0.0.0.0. The bind address itself is always allowed. Browsers' Origin headers "
            "must name one of these.",
        ),
    ] = None,
    max_sessions: Annotated[
        int, typer.Option(min=1, max=100_000, help="Most concurrent HTTP sessions (beyond: 503).")
    ] = 64,
    unsafe_allow_approver_credentials: Annotated[
        bool,
        typer.Option(
            "--unsafe-allow-approver-credentials",
            envvar="KRR_MCP_UNSAFE_ALLOW_APPROVER_CREDENTIALS",
            help="Serve even when the credentials may approve recommendations or change workloads (a "
            "person's kubeconfig) and cannot impersonate the bridge's ServiceAccount: the assistant then "
            "acts as that person. Needed on the sandbox, which enforces no RBAC.",
        ),
    ] = False,
    identity_check_interval: Annotated[
        float,
        typer.Option(
            min=0,
            help="Before proposing or previewing in a namespace, ask the API server again whether these "
            "credentials may approve or patch there; each namespace's answer is kept this many seconds.",
        ),
    ] = 60.0,
    bridge_namespace: Annotated[
        str,
        typer.Option(help="Namespace of the krr-mcp-bridge ServiceAccount the bridge impersonates."),
    ] = "krr-mcp-system",
    insecure_localhost_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-localhost-no-auth",
            help="Serve HTTP without a bearer token (loopback addresses only). Never use on a shared host.",
        ),
    ] = False,
) -> None:
    """Serve the MCP bridge: scan, explain, preview and propose; it can never approve or apply."""
    from krr_mcp.kube.client import KubeError
    from krr_mcp.recommenders import ReportError, load_report
    from mcp_bridge.auth import TOKEN_ENV, InsecureServerRefused, check_http_auth_config
    from mcp_bridge.cluster import api_client_for
    from mcp_bridge.identity import establish_identity
    from mcp_bridge.server import build_server, http_app, serve_http, transport_security
    from mcp_bridge.settings import BridgeSettings

    if source is Source.REPORT and scan_report is None:
        typer.echo("krr-mcp serve: --source report needs --scan-report FILE", err=True)
        raise typer.Exit(2)
    if scan_report is not None and source in (Source.KRR, Source.NATIVE):
        typer.echo(f"krr-mcp serve: --scan-report conflicts with --source {source.value}", err=True)
        raise typer.Exit(2)
    if scan_report is not None:
        try:
            load_report(scan_report)  # refuse an unusable report now, not at the first scan
        except ReportError as exc:
            typer.echo(f"krr-mcp serve: {exc}", err=True)
            raise typer.Exit(2) from None
    settings = BridgeSettings(
        kubeconfig=kubeconfig,
        context=context,
        read_only=read_only,
        prometheus_url=prometheus_url,
        source=source.value,  # type: ignore[arg-type]
        scan_report=str(scan_report.absolute()) if scan_report else None,
        identity_check_interval=None if unsafe_allow_approver_credentials else identity_check_interval,
    )
    token = os.environ.get(TOKEN_ENV) or None
    if transport is Transport.HTTP:
        try:
            check_http_auth_config(token, host, insecure_localhost_no_auth)
            transport_security(host, allowed_host or ())
        except InsecureServerRefused as exc:
            typer.echo(f"krr-mcp serve: {exc}", err=True)
            raise typer.Exit(2) from None
    try:
        api, decision = establish_identity(
            lambda: api_client_for(settings), bridge_namespace, unsafe_allow_approver_credentials
        )
    except KubeError as exc:
        typer.echo(f"krr-mcp serve: cannot learn what these credentials may do: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # kubeconfig missing or unreadable: one line, no traceback
        typer.echo(f"krr-mcp serve: cannot load the Kubernetes configuration: {exc}", err=True)
        raise typer.Exit(2) from None
    if decision.refusal:
        typer.echo(f"krr-mcp serve: {decision.refusal}", err=True)
        raise typer.Exit(2)
    if decision.warning:
        typer.echo(f"krr-mcp serve: {decision.warning}", err=True)
    elif decision.impersonate:
        typer.echo(f"krr-mcp serve: acting as {decision.impersonate} (impersonated)", err=True)
    server = build_server(settings, api)
    if transport is Transport.STDIO:
        anyio.run(server.run_stdio_async)
        return
    print(f"krr-mcp serve: streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr)
    app = http_app(
        server,
        host=host,
        token=token,
        insecure_localhost_no_auth=insecure_localhost_no_auth,
        allowed_hosts=allowed_host or (),
        max_sessions=max_sessions,
    )
    anyio.run(lambda: serve_http(app, host=host, port=port))
