"""What a change saves, as `kubectl get recommendations` shows it on a real API server: the CRD's
Saves/Month printer column over the status.savings the operator (its own process, its own
ServiceAccount) computes from the spec's requests and the Deployment's live replicas."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..operator.operator_harness import wait_for
from .cluster import RealCluster, deployment_manifest, operator_process

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]

NAMESPACE = "savings-apps"
BEFORE = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
AFTER = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


def recommendation() -> dict[str, object]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {"name": "shop-rightsize", "namespace": NAMESPACE},
        "spec": {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
            "containers": [{"name": "app", "current": BEFORE, "proposed": AFTER}],
            "evidence": {"source": "native", "historyHours": 168},
            "reason": "shop uses a quarter of its requests",
        },
    }


def test_kubectl_get_recommendations_shows_what_it_saves(real_cluster: RealCluster, tmp_path: Path) -> None:
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    real_cluster.apply(deployment_manifest("shop", NAMESPACE, BEFORE, replicas=3))
    real_cluster.apply(recommendation())
    with operator_process(real_cluster, tmp_path / "operator.log", "-A", "--poll-interval", "0.5"):
        # 3 replicas x (0.25 cores + 0.25 GiB) at the built-in prices (0.031611 per core-hour, 0.004237
        # per GiB-hour) x 730 h = 19.63 USD per month.
        def column() -> list[str] | None:
            listed = real_cluster.kubectl("get", "recommendations", "-n", NAMESPACE).stdout.splitlines()
            header, row = listed[0], listed[1]
            start = header.index("SAVES/MONTH")
            cell = row[start:].split()
            return cell[:2] if cell[:2] == ["19.63", "USD"] else None

        wait_for("the Saves/Month column", column, 120, interval=0.5)
        rr = real_cluster.get("-n", NAMESPACE, "recommendation", "shop-rightsize")
        assert rr["status"]["savings"]["replicas"] == 3
        assert rr["status"]["savings"]["pricesFrom"].startswith("built-in table")
