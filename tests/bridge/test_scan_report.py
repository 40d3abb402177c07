"""`krr-mcp serve --scan-report FILE`: scans read a saved report and say so (no Prometheus, no krr)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client

from krr_mcp.demo.record import RECORDED_END, recorded_scan_path
from krr_mcp.sandbox.testing import SandboxHandle
from mcp_bridge.server import build_server
from mcp_bridge.settings import BridgeSettings

KRR_MCP = Path(sys.executable).parent / "krr-mcp"


async def test_scan_and_explain_read_the_saved_report_and_say_so(cluster: SandboxHandle) -> None:
    report = str(recorded_scan_path())
    server = build_server(BridgeSettings(kubeconfig=str(cluster.kubeconfig), scan_report=report))
    async with Client(server) as client:
        scan = await client.call_tool("scan_recommendations", {"namespaces": ["shop"]})
        assert not scan.is_error, scan.content
        out: Any = scan.structured_content
        explain = await client.call_tool(
            "explain_recommendation",
            {"namespace": "shop", "kind": "Deployment", "name": "web", "container": "web"},
        )
    assert out["source"] == "report" and "not a live scan" in out["source_reason"]
    assert out["report"]["path"] == report and out["report"]["recorded_source"] == "native"
    assert out["report"]["recorded_at"].startswith(RECORDED_END.isoformat()[:19])
    assert {i["namespace"] for i in out["items"]} == {"shop"}
    assert any(i["name"] == "web" and i["proposable"] for i in out["items"])
    assert "FROM A SAVED REPORT" in scan.content[0].text  # type: ignore[union-attr]
    assert not explain.is_error, explain.content


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KRR_MCP), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_serve_refuses_an_unusable_or_missing_report_before_serving(tmp_path: Path) -> None:
    missing = _serve("--scan-report", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read the saved report" in missing.stderr
    (tmp_path / "bad.json").write_text('{"scans": [')
    bad = _serve("--scan-report", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr
    assert _serve("--source", "report").returncode == 2
    conflict = _serve("--scan-report", str(recorded_scan_path()), "--source", "native")
    assert conflict.returncode == 2 and "conflicts" in conflict.stderr
