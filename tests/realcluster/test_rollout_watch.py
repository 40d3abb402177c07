"""The operator follows a rollout from a watch on the workloads, not only by re-reading it on a timer.

The operator here re-checks followed RRs only every 10 minutes (`--poll-interval 600`): an approved
change still reaches Applied as soon as the real Deployment controller and kwok have rolled it out, since
the workload's own events wake the RR up. Its history entry records when the controller was first seen
taking the change up (`rolloutObservedAt`), the time the rollout timeout counts from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from ..builders import manifest, stored_proposal, workload
from ..operator.operator_harness import wait_for
from .cluster import RealCluster, operator_process

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(300)]

NS = "rollout-watch"
CURRENT = {"requests": {"cpu": "500m", "memory": "512Mi"}}


@pytest.fixture(scope="module")
def watched(real_cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """Namespace NS with Deployment web, and an operator for NS whose timers would take 10 minutes."""
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    real_cluster.apply(
        manifest(workload(namespace=NS, containers={"app": CURRENT}, image="registry.example/app:1"))
    )
    real_cluster.kubectl("-n", NS, "rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    options = ("--namespace", NS, "--poll-interval", "600", "--idle-interval", "600")
    with operator_process(real_cluster, log, *options):
        yield real_cluster


def _rr(cluster: RealCluster, name: str) -> dict[str, Any]:
    return cluster.get("-n", NS, "resourcerecommendation", name)


def test_an_approved_change_is_followed_to_applied_by_the_workloads_events(watched: RealCluster) -> None:
    body = stored_proposal(namespace=NS)
    body["metadata"]["name"] = "web-watch"
    created = watched.kubectl("create", "-f", "-", context="krr-mcp-bridge", stdin=json.dumps(body))
    assert created.returncode == 0, created.stderr
    wait_for("the proposal's first status", lambda: _rr(watched, "web-watch").get("status", {}).get("phase"))
    alice = {"spec": {"approved": True, "approvedBy": "alice"}}
    approved = watched.kubectl(
        "-n", NS, "patch", "resourcerecommendation", "web-watch", "--type=merge", "-p", json.dumps(alice),
        context="alice",
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr

    def applied() -> dict[str, Any] | None:
        status = _rr(watched, "web-watch").get("status", {})
        return status if status.get("phase") == "Applied" else None

    try:
        status = wait_for("Applied, well before the 600 s poll interval", applied, timeout=90)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{watched.diagnostics(NS)}") from None
    entry = status["history"][-1]
    assert entry["outcome"] == "Succeeded" and entry["actor"] == "alice"
    observed_at = datetime.fromisoformat(entry["rolloutObservedAt"].replace("Z", "+00:00"))
    assert observed_at >= datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
    live = watched.get("-n", NS, "deployment", "web")
    assert (
        live["spec"]["template"]["spec"]["containers"][0]["resources"]
        == body["spec"]["containers"][0]["proposed"]
    )
    assert live["status"]["updatedReplicas"] == 2 and live["status"]["readyReplicas"] == 2
