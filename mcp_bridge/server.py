"""The MCP server: tools, resources and prompts on one MCPServer, served over stdio or streamable HTTP.

`build_server(settings)` is what `krr-mcp serve` and the tests run. With `settings.read_only` the tools
that write (propose_change, request_rollback_proposal) are not registered at all.
"""

from __future__ import annotations

from importlib.metadata import version

from kubernetes import client
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp

from . import prompts, resources
from .auth import BearerTokenMiddleware, check_http_auth_config
from .bridge import Bridge
from .metrics import ToolMetrics, with_metrics
from .settings import BridgeSettings
from .strict_arguments import RejectUnknownArguments
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
    server.middleware.append(ToolMetrics())
    return server


def http_app(server: MCPServer, *, host: str, token: str | None, insecure_localhost_no_auth: bool) -> ASGIApp:
    """The streamable HTTP app, behind the bearer-token check (refuses to build without a token
    unless insecure_localhost_no_auth and a loopback host)."""
    check_http_auth_config(token, host, insecure_localhost_no_auth)
    app = with_metrics(server.streamable_http_app(host=host))
    return BearerTokenMiddleware(app, token) if token else app


async def serve_http(
    server: MCPServer, *, host: str, port: int, token: str | None, insecure_localhost_no_auth: bool
) -> None:
    import uvicorn

    app = http_app(server, host=host, token=token, insecure_localhost_no_auth=insecure_localhost_no_auth)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
