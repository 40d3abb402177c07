"""`krr-mcp serve` on a real API server asks what its credentials may do before serving (issue 15,
item 6): a person who may approve (alice) is refused in one line; the bridge's own ServiceAccount
serves; a cluster admin, who may impersonate, serves as the bridge's ServiceAccount, and RBAC then
treats it as that account (it cannot approve)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]

KRR_MCP = Path(sys.executable).parent / "krr-mcp"
BRIDGE_SA = "system:serviceaccount:krr-mcp-system:krr-mcp-bridge"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KRR_MCP_UNSAFE_ALLOW_APPROVER_CREDENTIALS"}


def _serve_once(real_cluster: RealCluster, context: str) -> subprocess.CompletedProcess[str]:
    """`krr-mcp serve` over stdio with `context`'s kubeconfig and no input: it checks, then ends."""
    return subprocess.run(
        [str(KRR_MCP), "serve", "--kubeconfig", str(real_cluster.kubeconfig_for(context))],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=_env(), check=False,
    )  # fmt: skip


def test_a_person_who_may_approve_is_refused(real_cluster: RealCluster) -> None:
    done = _serve_once(real_cluster, "alice")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to start: the credentials of alice may approve" in lines[0], lines
    assert (
        f"may not impersonate {BRIDGE_SA}" in lines[0] and "--unsafe-allow-approver-credentials" in lines[0]
    )


def test_the_bridge_service_account_serves(real_cluster: RealCluster, tmp_path: Path) -> None:
    done = _serve_once(real_cluster, "krr-mcp-bridge")
    assert done.returncode == 0 and "refusing" not in done.stderr and "WARNING" not in done.stderr, (
        done.stderr
    )


async def test_an_admin_serves_as_the_bridge_service_account(
    real_cluster: RealCluster, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=str(KRR_MCP),
        args=["serve", "--kubeconfig", str(real_cluster.kubeconfig_for("admin"))],
        env=_env(),
    )
    errlog_path = tmp_path / "server.stderr"
    with open(errlog_path, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            listed = await client.call_tool("list_recommendations", {})
    assert not listed.is_error, listed.content
    assert f"acting as {BRIDGE_SA} (impersonated)" in errlog_path.read_text()


def test_impersonation_gives_the_service_accounts_rights_not_the_admins(real_cluster: RealCluster) -> None:
    """What the impersonating bridge is: RBAC answers for the ServiceAccount, not for the admin."""
    as_bridge = ["--as", BRIDGE_SA]
    approve = real_cluster.kubectl(
        "auth", "can-i", "approve", "resourcerecommendations.krr-mcp.io", "-A", *as_bridge, check=False
    )
    patch = real_cluster.kubectl("auth", "can-i", "patch", "deployments.apps", "-A", *as_bridge, check=False)
    create = real_cluster.kubectl(
        "auth",
        "can-i",
        "create",
        "resourcerecommendations.krr-mcp.io",
        "-n",
        "default",
        *as_bridge,
        check=False,
    )
    assert (approve.stdout.strip(), patch.stdout.strip(), create.stdout.strip()) == ("no", "no", "yes")
