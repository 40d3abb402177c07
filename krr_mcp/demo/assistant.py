"""The assistant's side of the demo: a real MCP client talking to `krr-mcp serve` over stdio.

It does what an AI assistant would: list the tools, scan for recommendations, pick one, propose it
(answering the server's confirmation form as the user would), and never approve anything.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.session import ElicitationFnT
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult, TextContent

from .narrator import StepFailed

Confirm = Callable[[str], Awaitable[bool]]


def serve_parameters(
    kubeconfig: str,
    context: str | None,
    prometheus_url: str | None,
    env: dict[str, str],
    scan_report: str | None = None,
    allow_approver_credentials: bool = False,
) -> StdioServerParameters:
    """`krr-mcp serve` (this installation's) as a stdio MCP server for the given cluster; with
    `scan_report` its scans read that saved report; `allow_approver_credentials` for the sandbox, whose
    single user may approve (it enforces no RBAC)."""
    args = ["serve", "--kubeconfig", kubeconfig]
    if allow_approver_credentials:
        args.append("--unsafe-allow-approver-credentials")
    if context:
        args += ["--context", context]
    if prometheus_url:
        args += ["--prometheus-url", prometheus_url]
    if scan_report:
        args += ["--scan-report", scan_report]
    return StdioServerParameters(command=str(Path(sys.executable).parent / "krr-mcp"), args=args, env=env)


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def structured(result: CallToolResult, tool: str) -> dict[str, Any]:
    """The tool's structured result; StepFailed with the server's words when the tool failed."""
    if result.is_error:
        raise StepFailed(f"the MCP tool {tool} failed: {_text(result)}")
    data = result.structured_content
    if isinstance(data, dict):
        return data
    try:
        return dict(json.loads(_text(result)))
    except (ValueError, TypeError):
        raise StepFailed(
            f"the MCP tool {tool} returned no structured result: {_text(result)[:200]}"
        ) from None


def make_elicitation_callback(confirm: Confirm) -> ElicitationFnT:
    """Answer the server's forms the way the user does: accept when `confirm` says yes."""

    async def on_elicit(context: Any, params: ElicitRequestParams) -> ElicitResult:
        message = getattr(params, "message", "")
        if await confirm(message):
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    return on_elicit


def in_process_server(
    kubeconfig: str, context: str | None, prometheus_url: str | None, scan_report: str | None = None
) -> Any:
    """The bridge's MCPServer inside this process (the same tools `krr-mcp serve` offers)."""
    from mcp_bridge.server import build_server
    from mcp_bridge.settings import BridgeSettings

    server = build_server(
        BridgeSettings(
            kubeconfig=kubeconfig, context=context, prometheus_url=prometheus_url, scan_report=scan_report
        )
    )
    logging.getLogger().setLevel(
        logging.WARNING
    )  # the SDK sets INFO on the root logger: keep the narration clean
    return server


def stdio_transport(parameters: StdioServerParameters, stack: ExitStack, log: Path) -> Any:
    """The stdio transport to a spawned server whose stderr goes to `log` (not over the narration)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    errlog = stack.enter_context(log.open("w"))
    return stdio_client(parameters, errlog=errlog)


def open_client(server: StdioServerParameters | Any, confirm: Confirm) -> Client:
    """An MCP client on a spawned `krr-mcp serve` (StdioServerParameters) or an in-process MCPServer."""
    return Client(server, elicitation_callback=make_elicitation_callback(confirm), read_timeout_seconds=60)


class Tools:
    """The server's tools as listed; calls check their arguments against the declared ones first
    (a server drops undeclared top-level arguments silently, so a typo would lose evidence)."""

    def __init__(self, client: Client, listed: Any) -> None:
        self.client = client
        self.declared = {t.name: set((t.input_schema or {}).get("properties", {})) for t in listed.tools}

    @property
    def names(self) -> list[str]:
        return sorted(self.declared)

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if tool not in self.declared:
            raise StepFailed(f"the MCP server has no tool {tool} (it has: {', '.join(self.names)})")
        unknown = sorted(set(arguments) - self.declared[tool])
        if unknown:
            raise StepFailed(f"{tool} does not declare the argument(s) {', '.join(unknown)}")
        return structured(await self.client.call_tool(tool, arguments), tool)
