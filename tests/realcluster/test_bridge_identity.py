"""`krr-mcp serve` on a real API server asks what its credentials may do before serving (issue 15,
item 6): a person who may approve (alice) is refused in one line; the bridge's own ServiceAccount
serves; a cluster admin, who may impersonate, serves as the bridge's ServiceAccount, and RBAC then
treats it as that account (it cannot approve)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from krr_mcp.cluster.install import kubectl_binary

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


def _propose_ghost(namespace: str) -> dict:
    """A proposal for a Deployment that does not exist: refused, but only after the identity check."""
    return {
        "proposals": [
            {
                "namespace": namespace,
                "kind": "Deployment",
                "name": "ghost",
                "containers": [{"name": "app", "override": {"requests": {"cpu": "100m"}}}],
            }
        ],
        "reason": "identity check",
    }


def _token_kubeconfig(real_cluster: RealCluster, namespace: str, account: str, into: Path) -> Path:
    """A kubeconfig authenticating as ServiceAccount `namespace/account` with a fresh token."""
    token = real_cluster.kubectl("create", "token", account, "-n", namespace).stdout.strip()
    config = yaml.safe_load(real_cluster.kubeconfig_for("admin").read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = account
    into.write_text(yaml.safe_dump(config))
    return into


async def test_a_namespace_the_credentials_cannot_list_is_checked_when_the_bridge_acts_there(
    real_cluster: RealCluster, tmp_path: Path
) -> None:
    """Start-up reviews only the namespaces the credentials can list. A robot that may not list them but
    holds `edit` (patch deployments, approve) in one namespace starts; acting in that namespace is
    refused, in one sentence, because the bridge asks again there."""
    ns, robot = "identity-unlisted", "team-robot"
    real_cluster.kubectl("create", "namespace", ns)
    try:
        real_cluster.kubectl("create", "serviceaccount", robot, "-n", ns)
        real_cluster.kubectl(
            "create",
            "rolebinding",
            "robot-edit",
            "-n",
            ns,
            "--clusterrole=edit",
            f"--serviceaccount={ns}:{robot}",
        )
        kubeconfig = _token_kubeconfig(real_cluster, ns, robot, tmp_path / "robot.kubeconfig")
        lists = subprocess.run(
            [kubectl_binary(), "--kubeconfig", str(kubeconfig), "get", "namespaces"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert lists.returncode != 0 and "forbidden" in lists.stderr, lists  # it cannot list them
        params = StdioServerParameters(
            command=str(KRR_MCP), args=["serve", "--kubeconfig", str(kubeconfig)], env=_env()
        )
        with open(tmp_path / "server.stderr", "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                there = await client.call_tool("propose_change", _propose_ghost(ns))
        assert there.is_error, there.content
        text = there.content[0].text  # type: ignore[union-attr]
        assert "the bridge's identity may approve resourcerecommendations.krr-mcp.io; patch " in text, text
        assert f"in namespace {ns}" in text and "\n" not in text, text
    finally:
        real_cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


async def test_a_power_granted_after_start_up_is_noticed(real_cluster: RealCluster, tmp_path: Path) -> None:
    """The bridge's ServiceAccount serves; then someone binds `edit` to it in a namespace: the next
    proposal there (after the check interval) is refused, and acting elsewhere still works."""
    ns = "identity-granted"
    real_cluster.kubectl("create", "namespace", ns)
    try:
        params = StdioServerParameters(
            command=str(KRR_MCP),
            args=[
                "serve",
                "--kubeconfig",
                str(real_cluster.kubeconfig_for("krr-mcp-bridge")),
                "--identity-check-interval",
                "1",
            ],
            env=_env(),
        )
        with open(tmp_path / "server.stderr", "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                before = await client.call_tool("propose_change", _propose_ghost(ns))
                real_cluster.kubectl(
                    "create", "rolebinding", "bridge-edit", "-n", ns, "--clusterrole=edit",
                    "--serviceaccount=krr-mcp-system:krr-mcp-bridge",
                )  # fmt: skip
                time.sleep(1.5)
                after = await client.call_tool("propose_change", _propose_ghost(ns))
                elsewhere = await client.call_tool("propose_change", _propose_ghost("default"))
    finally:
        real_cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    texts = [r.content[0].text for r in (before, after, elsewhere)]  # type: ignore[union-attr]
    assert "Deployment identity-granted/ghost not found" in texts[0], texts[0]
    assert after.is_error and "the bridge's identity may approve" in texts[1], texts[1]
    assert f"in namespace {ns}" in texts[1]
    assert "Deployment default/ghost not found" in texts[2], texts[2]
