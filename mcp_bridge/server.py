"""The MCP server: tools, resources and prompts on one MCPServer, served over stdio or streamable HTTP.

`build_server(settings)` is what `krr-mcp serve` and the tests run. With `settings.read_only` the tools
that write (propose_change, request_rollback_proposal) are not registered at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

from kubernetes import client
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from . import prompts, resources
from .auth import BearerTokenMiddleware, InsecureServerRefused, check_http_auth_config
from .bridge import Bridge
from .metrics import ToolMetrics, with_metrics
from .settings import BridgeSettings
from .strict_arguments import PromptArgumentErrors, RejectUnknownArguments
from .tools import register_tools

INSTRUCTIONS = """krr-mcp: right-size Kubernetes workloads with a human in the loop.
Scan (scan_recommendations, explain_recommendation), check (preview_change), then propose
(propose_change): that creates ResourceRecommendation objects with approved=false. You can never
approve or apply a change; give the human the kubectl commands the tools return. Read-only views:
list_recommendations, get_recommendation, audit_trail. To undo an applied change, propose a rollback
with request_rollback_proposal (a human approves it like any other)."""


def build_server(settings: BridgeSettings, api_client: client.ApiClient | None = None) -> MCPServer:
    """An MCPServer on the cluster the settings point at (or on `api_client`, for tests)."""
    bridge = Bridge.connect(settings, api_client)
    server: MCPServer = MCPServer(
        name="krr-mcp",
        title="krr-mcp bridge",
        version=version("krr-mcp"),
        instructions=INSTRUCTIONS,
    )
    register_tools(server, bridge)
    resources.register(server, bridge)
    prompts.register(server)
    server.middleware.append(RejectUnknownArguments(server))
    server.middleware.append(ToolMetrics(server))
    server.middleware.append(PromptArgumentErrors(server))
    return server


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_SESSIONS = 64


def _host_name(host: str) -> str:
    """`host` as it appears in a Host header (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def transport_security(host: str, allowed_hosts: Sequence[str] = ()) -> TransportSecuritySettings:
    """DNS-rebinding protection for a server bound to `host`: the Host header must name the bind
    address (any loopback name when it is a loopback one) or one of `allowed_hosts`, and an Origin
    header, when a browser sends one, must be http(s) on one of those names. A wildcard bind
    (0.0.0.0, ::) cannot say which names are right, so it needs `allowed_hosts`."""
    names = list(allowed_hosts)
    if host in WILDCARD_HOSTS:
        if not names:
            raise InsecureServerRefused(
                f"--host {host or '(all)'} accepts any address, so the Host header cannot be checked: "
                "name the host(s) clients use with --allowed-host"
            )
    else:
        names.append(host)
        if host in LOOPBACK_NAMES:
            names.extend(LOOPBACK_NAMES)
    hosts = sorted({_host_name(n) for n in names})
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[form for h in hosts for form in (h, f"{h}:*")],
        allowed_origins=[
            f"{scheme}://{form}" for h in hosts for scheme in ("http", "https") for form in (h, f"{h}:*")
        ],
    )


def http_app(
    server: MCPServer,
    *,
    host: str,
    token: str | None,
    insecure_localhost_no_auth: bool,
    allowed_hosts: Sequence[str] = (),
    max_sessions: int = DEFAULT_MAX_SESSIONS,
) -> ASGIApp:
    """The streamable HTTP app, behind the bearer-token check (refuses to build without a token
    unless insecure_localhost_no_auth and a loopback host), with Host/Origin checks derived from the
    bind address and at most `max_sessions` concurrent sessions (beyond: 503 "Too many open sessions")."""
    check_http_auth_config(token, host, insecure_localhost_no_auth)
    security = transport_security(host, allowed_hosts)
    app = with_metrics(
        server.streamable_http_app(host=host, transport_security=security, max_sessions=max_sessions)
    )
    return BearerTokenMiddleware(app, token) if token else app


async def serve_http(app: ASGIApp, *, host: str, port: int) -> None:
    """Serve `app` (from `http_app`) with uvicorn until stopped."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
