"""The whole loop on a real API server, each component as its own process under its own identity:
`krr-mcp serve` (stdio, the krr-mcp-bridge ServiceAccount's token) proposes over MCP; alice approves with
`kubectl patch` and with `kubectl krr approve`; `krr-mcp operator` (the krr-mcp-operator ServiceAccount's
token) applies; the real controllers and kwok roll the Deployment out (a new ReplicaSet, pods Ready); a
rollout that fails (kwok OOM-kills squeezed pods) rolls back by itself; bob's `kubectl krr rollback`
restores the pod template exactly; the audit trail names who approved and who asked for the rollback."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from ..builders import manifest, workload
from ..operator.operator_harness import wait_for as harness_wait_for
from .cluster import KRR_MCP, RealCluster, operator_process

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(900)]

APPS = "loop-apps"
KUBECTL_KRR = Path(sys.executable).parent / "kubectl-krr"
BEFORE = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
AFTER = {"requests": {"cpu": "300m", "memory": "400Mi"}, "limits": {"memory": "800Mi"}}
# cart starts at CART and is squeezed below what it needs (NEEDS_MI: the kwok stage
# krr-mcp-oom-when-squeezed OOM-kills it), within one safety step.
CART = {"requests": {"cpu": "300m", "memory": "400Mi"}, "limits": {"memory": "500Mi"}}
SQUEEZED = {"requests": {"cpu": "300m", "memory": "220Mi"}, "limits": {"memory": "260Mi"}}
NEEDS_MI = "300"


# workload() fields of the Deployments here: two kwok pods that are OOM-killed below NEEDS_MI of memory limit
KWOK_APP: dict[str, Any] = {
    "namespace": APPS,
    "replicas": 2,
    "image": "registry.example/app:1",
    "pod_annotations": {"kwok.krr-mcp.io/oom-below-memory-limit-mi": NEEDS_MI},
}


def wait_for(
    what: str, probe: Callable[[], Any], timeout: float = 120, cluster: RealCluster | None = None
) -> Any:
    """The harness's wait, with the cluster's state in the failure."""
    try:
        return harness_wait_for(what, probe, timeout, interval=0.5)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{cluster.diagnostics(APPS) if cluster else ''}") from None


def template(cluster: RealCluster, name: str) -> dict[str, Any]:
    return dict(cluster.get("-n", APPS, "deployment", name)["spec"]["template"])


def rr(cluster: RealCluster, name: str) -> dict[str, Any]:
    return cluster.get("-n", APPS, "recommendation", name)


def phase_is(cluster: RealCluster, name: str, *phases: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        found = rr(cluster, name).get("status", {}).get("phase")
        return found if found in phases else None

    return probe


def replica_sets(cluster: RealCluster, app: str) -> list[dict[str, Any]]:
    return list(cluster.get("-n", APPS, "replicasets", "-l", f"app={app}")["items"])


def rolled_out(cluster: RealCluster, app: str) -> None:
    cluster.kubectl("-n", APPS, "rollout", "status", f"deployment/{app}", "--timeout=300s", timeout=330)


@pytest.fixture(scope="module")
def apps(real_cluster: RealCluster) -> RealCluster:
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APPS}})
    return real_cluster


@pytest.fixture(scope="module")
def operator(
    apps: RealCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """`krr-mcp operator -A` as its own process with only the operator ServiceAccount's kubeconfig."""
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with operator_process(apps, log, "-A", "--poll-interval", "0.5") as process:
        yield process


async def propose(cluster: RealCluster, app: str, proposed: dict[str, Any], reason: str) -> str:
    """What an assistant does: `krr-mcp serve` over stdio as the bridge ServiceAccount, propose_change."""
    params = StdioServerParameters(
        command=str(KRR_MCP), args=["serve", "--kubeconfig", str(cluster.kubeconfig_for("krr-mcp-bridge"))]
    )
    proposal = {
        "namespace": APPS,
        "kind": "Deployment",
        "name": app,
        "containers": [{"name": "app", "override": proposed}],
    }
    async with Client(stdio_client(params)) as client:
        result = await client.call_tool("propose_change", {"proposals": [proposal], "reason": reason})
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict), result.content
    return str(result.structured_content["created"][0]["name"])


def kubectl_krr(cluster: RealCluster, context: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The kubectl plugin as a person runs it, with the shared kubeconfig and their own context."""
    return subprocess.run(
        [str(KUBECTL_KRR), *args, "-n", APPS, "--kubeconfig", str(cluster.kubeconfig), "--context", context],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def history(cluster: RealCluster, name: str) -> list[dict[str, Any]]:
    return list(rr(cluster, name).get("status", {}).get("history", []))


async def test_proposal_approved_with_kubectl_patch_applies_and_bobs_rollback_restores(
    apps: RealCluster, operator: subprocess.Popen[bytes]
) -> None:
    apps.apply(manifest(workload(containers={"app": BEFORE}, **KWOK_APP)))
    rolled_out(apps, "web")
    original = template(apps, "web")
    sets_before = {rs["metadata"]["name"] for rs in replica_sets(apps, "web")}

    name = await propose(apps, "web", AFTER, "web uses a third of its requests")
    proposed = apps.get("-n", APPS, "recommendation", name, "--show-managed-fields")
    assert proposed["spec"]["approved"] is False
    spec_writers = {
        m["manager"] for m in proposed["metadata"]["managedFields"] if "f:spec" in m.get("fieldsV1", {})
    }
    assert spec_writers == {"krr-mcp-bridge"}, "the bridge's ServiceAccount wrote the proposal"
    time.sleep(2)  # the operator sees the proposal and must do nothing with it
    assert template(apps, "web") == original, "nothing changes before a person approves"

    approve = json.dumps({"spec": {"approved": True, "approvedBy": "alice"}})
    apps.kubectl("-n", APPS, "patch", "recommendation", name, "--type=merge", "-p", approve, context="alice")
    wait_for("Applied", phase_is(apps, name, "Applied"), 300, apps)

    changed = template(apps, "web")
    assert changed["spec"]["containers"][0]["resources"] == AFTER
    expected = copy.deepcopy(original)
    expected["spec"]["containers"][0]["resources"] = AFTER
    assert changed == expected, "only the named container's resources changed"
    rolled_out(apps, "web")
    new_sets = {rs["metadata"]["name"] for rs in replica_sets(apps, "web")} - sets_before
    assert len(new_sets) == 1, "the real Deployment controller made one new ReplicaSet"
    applied = history(apps, name)[-1]
    assert (applied["action"], applied["outcome"], applied["actor"]) == ("apply", "Succeeded", "alice")

    done = kubectl_krr(apps, "bob", "rollback", name)
    assert done.returncode == 0, done.stderr
    wait_for("RolledBack", phase_is(apps, name, "RolledBack"), 300, apps)
    assert template(apps, "web") == original, "the rollback restored the pod template exactly"
    rolled_out(apps, "web")
    rollback = history(apps, name)[-1]
    assert (rollback["action"], rollback["outcome"]) == ("rollback", "Succeeded")
    assert rollback["actor"] == "bob", "the audit names who asked for the rollback"
    events = apps.get("-n", APPS, "events", f"--field-selector=involvedObject.name={name}")["items"]
    messages = " ".join(e.get("message", "") for e in events)
    assert "alice" in messages and "bob" in messages, messages


async def test_kubectl_krr_approve_by_alice_and_a_failed_rollout_rolls_back_by_itself(
    apps: RealCluster, operator: subprocess.Popen[bytes]
) -> None:
    apps.apply(manifest(workload(name="cart", containers={"app": CART}, **KWOK_APP)))
    rolled_out(apps, "cart")
    original = template(apps, "cart")

    name = await propose(apps, "cart", SQUEEZED, "cart's memory looks oversized")
    done = kubectl_krr(apps, "alice", "approve", name)
    assert done.returncode == 0, done.stderr + done.stdout
    assert rr(apps, name)["spec"]["approvedBy"] == "alice"

    final = wait_for(
        "the failed rollout to be rolled back", phase_is(apps, name, "RolledBack", "Failed"), 300, apps
    )
    entries = history(apps, name)
    assert [e["action"] for e in entries][-2:] == ["apply", "auto-rollback"], entries
    assert "OOMKilled" in json.dumps(entries) or "CrashLoopBackOff" in json.dumps(entries), entries
    assert final in ("RolledBack", "Failed")
    assert template(apps, "cart") == original, "the automatic rollback restored the pod template exactly"
    rolled_out(apps, "cart")
