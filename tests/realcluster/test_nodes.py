"""kwok's fake nodes stay Ready for as long as the cluster runs: kwok renews a Lease per node, as a kubelet
does. Without leases the node lifecycle controller marks every node NotReady once its grace period passes
(about 50s after start), and each pod running then stays NotReady for good (kwok only makes new pods
Ready): a cluster kept up for kubectl, or a suite longer than a minute, sees its Deployments at 0/N."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(120)]


def test_every_kwok_node_holds_a_fresh_lease(real_cluster: RealCluster) -> None:
    nodes = {node["metadata"]["name"] for node in real_cluster.get("nodes")["items"]}
    assert nodes, "no nodes"
    deadline = time.monotonic() + 30
    while True:
        leases = {
            lease["metadata"]["name"]: lease["spec"]
            for lease in real_cluster.get("leases", "-n", "kube-node-lease")["items"]
        }
        if nodes <= set(leases) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert nodes <= set(leases), f"nodes without a lease: {sorted(nodes - set(leases))}"
    for name in nodes:
        spec = leases[name]
        renewed = datetime.fromisoformat(spec["renewTime"].replace("Z", "+00:00"))
        age = (datetime.now(UTC) - renewed).total_seconds()
        assert age < spec["leaseDurationSeconds"], f"{name}'s lease was last renewed {age:.0f}s ago"
