"""Fixtures for the bridge tests: the bridge's MCPServer on a seeded sandbox, and cluster readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings

from .bridge_support import list_rrs


@pytest.fixture
def cluster(seeded_sandbox: SandboxHandle) -> SandboxHandle:
    return seeded_sandbox


@pytest.fixture
def settings(cluster: SandboxHandle) -> BridgeSettings:
    return BridgeSettings(kubeconfig=str(cluster.kubeconfig))


@pytest.fixture
def server(settings: BridgeSettings) -> MCPServer:
    return build_server(settings)


@pytest.fixture
def rrs(cluster: SandboxHandle) -> Callable[[], list[dict[str, Any]]]:
    return lambda: list_rrs(cluster)
