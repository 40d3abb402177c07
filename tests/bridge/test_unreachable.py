"""An unreachable API server is a clear tool error, not a crash or a hang."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml
from mcp import Client

from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings


def dead_kubeconfig(tmp_path: Path) -> Path:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
        "current-context": "dead",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


async def test_unreachable_cluster_is_a_clear_tool_error(tmp_path: Path) -> None:
    server = build_server(BridgeSettings(kubeconfig=str(dead_kubeconfig(tmp_path))))
    async with Client(server) as client:
        listed = await client.call_tool("list_recommendations", {})
        proposed = await client.call_tool(
            "propose_change",
            {
                "proposals": [
                    {
                        "namespace": "shop",
                        "kind": "Deployment",
                        "name": "web",
                        "containers": [{"name": "web"}],
                    }
                ],
                "reason": "x",
            },
        )
    for result in (listed, proposed):
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "cannot reach the Kubernetes API server" in text and "Traceback" not in text
