"""docs/assistant.md's ready-to-paste client configs: each JSON block (and the `claude mcp add` line)
parses, and what it names starts and serves the bridge's tools to the MCP SDK's client.

Stand-ins, because krr-mcp is not on PyPI yet: `uvx krr-mcp ...` runs the real uvx with
`--from <the wheel uv build made>` in front (offline, from uv's cache); an HTTP config's URL gets the
port of the server this test started; its `${...}` token placeholders get this test's token, as the
client would fill them from the environment or its prompt.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from krr_mcp.sandbox.handle import SandboxHandle
from mcp_bridge.auth import TOKEN_ENV
from tests.bridge.test_transports import http_server

from .conftest import ROOT, Installed, bridge_tools, uv

PAGE = (ROOT / "docs" / "assistant.md").read_text()
BLOCKS = [json.loads(b) for b in re.findall(r"^```json\n(.*?)^```", PAGE, flags=re.MULTILINE | re.DOTALL)]
CLAUDE_ADD = re.findall(r"`claude mcp add krr-mcp -- ([^`]+)`", PAGE)
TOKEN = "client-config-token-0123456789abcdef"
DOCUMENTED_URL = "http://127.0.0.1:8765/mcp"


def _entries() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, server entry, whole block) for every config on the page."""
    found = []
    for index, block in enumerate(BLOCKS):
        servers = block.get("mcpServers", block.get("servers"))
        assert isinstance(servers, dict) and list(servers) == ["krr-mcp"], block
        entry = servers["krr-mcp"]
        found.append((f"block{index}-{'stdio' if 'command' in entry else 'http'}", entry, block))
    for index, line in enumerate(CLAUDE_ADD):
        command, *args = shlex.split(line)
        found.append((f"claude-mcp-add{index}", {"command": command, "args": args}, {}))
    return found


ENTRIES = _entries()
STDIO = [pytest.param(entry, id=name) for name, entry, _ in ENTRIES if "command" in entry]
HTTP = [pytest.param(entry, block, id=name) for name, entry, block in ENTRIES if "url" in entry]


def test_the_page_has_configs_for_both_transports_and_the_common_clients() -> None:
    assert len(STDIO) >= 4 and len(HTTP) >= 3
    assert {"mcpServers", "servers"} <= {
        key for block in BLOCKS for key in block
    }  # Claude/Cursor and VS Code
    for _, entry, _ in ENTRIES:
        assert set(entry) <= {"type", "command", "args", "env", "url", "headers"}, entry


def _uvx() -> str:
    found = shutil.which("uvx") or shutil.which("uvx", path=str(Path(uv()).parent))
    if not found:
        pytest.fail("uvx is missing (it comes with uv: ./uvw installs both)")
    return found


@pytest.mark.parametrize("entry", STDIO)
async def test_a_stdio_config_starts_the_server(
    entry: dict[str, Any], installed: Installed, sandbox: SandboxHandle
) -> None:
    assert entry.get("type", "stdio") == "stdio"
    assert entry["command"] == "uvx" and entry["args"][:2] == ["krr-mcp", "serve"], entry
    env = installed.env(
        **entry.get("env", {}),
        PATH=os.pathsep.join([installed.path, "/usr/bin", "/bin"]),  # uv's launchers use realpath, dirname
        KUBECONFIG=str(sandbox.kubeconfig),  # the user's ~/.kube/config
        UV_PYTHON=os.path.realpath(sys.executable),
        UV_OFFLINE="1",
    )
    server = StdioServerParameters(
        command=_uvx(), args=["--from", str(installed.wheel), *entry["args"]], env=env, cwd=installed.home
    )
    async with Client(server, read_timeout_seconds=120) as client:
        listed = sorted(t.name for t in (await client.list_tools()).tools)
    assert listed == await bridge_tools(sandbox.kubeconfig, read_only="--read-only" in entry["args"])


def _filled(value: str, block: dict[str, Any]) -> str:
    """A header value as the client sends it: its placeholder for the token replaced by the token."""
    prompts = [i["id"] for i in block.get("inputs", []) if i.get("password")]
    placeholders = [f"${{{TOKEN_ENV}}}", f"${{env:{TOKEN_ENV}}}", *(f"${{input:{i}}}" for i in prompts)]
    for placeholder in placeholders:
        value = value.replace(placeholder, TOKEN)
    assert "${" not in value and TOKEN in value, (
        f"{value!r}: the token is neither read from {TOKEN_ENV} nor asked"
    )
    return value


@pytest.mark.parametrize(("entry", "block"), HTTP)
async def test_an_http_config_reaches_the_server_with_its_token(
    entry: dict[str, Any], block: dict[str, Any], installed: Installed, sandbox: SandboxHandle
) -> None:
    assert entry["url"] == DOCUMENTED_URL and entry.get("type", "http") == "http"
    headers = {name: _filled(value, block) for name, value in entry["headers"].items()}
    with http_server(sandbox, token=TOKEN, krr_mcp=installed.krr_mcp, env=installed.env()) as (port, _):
        url = entry["url"].replace(":8765/", f":{port}/")
        authorized = httpx2.AsyncClient(headers=headers)
        async with authorized as http, Client(streamable_http_client(url, http_client=http)) as client:
            listed = sorted(t.name for t in (await client.list_tools()).tools)
    assert listed == await bridge_tools(sandbox.kubeconfig)
