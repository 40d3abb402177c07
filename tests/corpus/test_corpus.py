"""The hostile-input corpus: every entry, through the real entry point, says exactly what its
`.expected` sidecar says. A new entry without a sidecar fails; run with CORPUS_WRITE_MISSING=1 to write
the sidecar from what the code says now, then review it before committing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from krr_mcp.api import project_crds
from krr_mcp.sandbox.handle import SandboxHandle
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings

from .verdicts import (
    admission_verdict,
    krr_verdict,
    kube_verdict,
    mcp_verdict,
    opencost_verdict,
    plugin_verdict,
    rr_verdict,
)

HERE = Path(__file__).parent


def entries(kind: str, pattern: str) -> list[Path]:
    return sorted((HERE / kind).glob(pattern))


def check(path: Path, said: str) -> None:
    sidecar = path.with_name(path.name + ".expected")
    if not sidecar.exists():
        if os.environ.get("CORPUS_WRITE_MISSING"):
            sidecar.write_text(said)
        pytest.fail(f"{sidecar.name} is missing (CORPUS_WRITE_MISSING=1 writes it; review it). Said:\n{said}")
    assert said == sidecar.read_text(), f"{path.name}: the verdict changed"


@pytest.mark.parametrize("path", entries("rr", "*.yaml"), ids=lambda p: p.stem)
def test_hostile_rr(path: Path) -> None:
    check(path, rr_verdict(path))


@pytest.mark.parametrize("path", entries("admission", "*.yaml"), ids=lambda p: p.stem)
def test_hostile_admission_request(path: Path) -> None:
    check(path, admission_verdict(path))


@pytest.mark.parametrize("path", entries("krr", "*.json"), ids=lambda p: p.stem)
def test_hostile_krr_output(path: Path) -> None:
    said = krr_verdict(path)
    check(path, said)
    assert "with a recommendation: 1" not in said or "error" not in said


@pytest.mark.parametrize("path", entries("opencost", "*.http"), ids=lambda p: p.stem)
def test_hostile_opencost_answer(path: Path) -> None:
    said = opencost_verdict(path)
    check(path, said)
    assert said.startswith("refused: ") or "from OpenCost at OPENCOST" in said


@pytest.mark.parametrize("path", entries("kube", "*.http"), ids=lambda p: p.stem)
def test_hostile_api_server_answer(path: Path) -> None:
    check(path, kube_verdict(path))


@pytest.fixture(scope="module")
def mcp_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(
        tmp_path_factory.mktemp("corpus") / "kubeconfig", seed="default", crds=project_crds()
    )
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture(scope="module")
def mcp_server(mcp_sandbox: SandboxHandle) -> MCPServer:
    return build_server(BridgeSettings(kubeconfig=str(mcp_sandbox.kubeconfig)))


@pytest.mark.parametrize("path", entries("mcp", "*.json"), ids=lambda p: p.stem)
async def test_hostile_mcp_tool_call(path: Path, mcp_server: MCPServer, mcp_sandbox: SandboxHandle) -> None:
    said = await mcp_verdict(path, mcp_server, lambda objects: mcp_sandbox.apply(*objects))
    check(path, said)
    assert "RAW" not in said, f"{path.name}: cluster text reached the assistant unmarked"


@pytest.mark.parametrize("path", entries("plugin", "*.json"), ids=lambda p: p.stem)
def test_hostile_plugin_call(path: Path, mcp_sandbox: SandboxHandle) -> None:
    said = plugin_verdict(path, mcp_sandbox.kubeconfig)
    check(path, said)
    assert "Traceback" not in said


def test_every_kind_has_entries() -> None:
    for kind in ("rr", "krr", "mcp", "admission", "opencost", "kube"):
        assert len(list((HERE / kind).iterdir())) >= 10, kind
