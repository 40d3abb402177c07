"""What a change saves, as `kubectl get recommendations` shows it on a real API server: the CRD's
Saves/Month printer column over the status.savings the operator (its own process, its own
ServiceAccount) computes from the spec's requests and the Deployment's live replicas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..builders import manifest, workload
from ..opencost_stub import TWO_ALLOCATIONS, bad_answers, opencost_running
from ..operator.operator_harness import wait_for
from .cluster import RealCluster, operator_process

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]

NAMESPACE = "savings-apps"
BEFORE = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
# workload() fields of Deployment shop: three pods of `app` BEFORE
SHOP_APP: dict[str, Any] = {
    "name": "shop",
    "containers": {"app": BEFORE},
    "replicas": 3,
    "image": "registry.example/app:1",
}
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
    real_cluster.apply(manifest(workload(namespace=NAMESPACE, **SHOP_APP)))
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


OPENCOST_NAMESPACE = "savings-opencost"


def test_the_operator_prices_with_opencost_and_says_so_when_it_cannot(
    real_cluster: RealCluster, tmp_path: Path
) -> None:
    """The cluster policy names OpenCost (a stand-in serving its documented answer, tests/opencost_stub.py):
    a bad answer prices with the table, says why on the RR (Priced) and in one Warning Event about the
    cluster-scoped policy that the real API server accepts and `kubectl describe` finds; a good one prices
    with OpenCost's prices."""
    (bad,) = [path for path in bad_answers() if path.stem == "http-500"]
    body = recommendation()
    body["metadata"] = {"name": "shop-rightsize", "namespace": OPENCOST_NAMESPACE}  # type: ignore[index]
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPENCOST_NAMESPACE}})
    real_cluster.apply(manifest(workload(namespace=OPENCOST_NAMESPACE, **SHOP_APP)))
    real_cluster.apply(body)

    def rr() -> dict[str, Any]:
        return real_cluster.get("-n", OPENCOST_NAMESPACE, "recommendation", "shop-rightsize")

    def priced(reason: str) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            found = rr()
            conditions = (found.get("status") or {}).get("conditions") or []
            ok = any(c["type"] == "Priced" and c["reason"] == reason for c in conditions)
            return found if ok and found["status"].get("savings") else None

        return probe

    with opencost_running() as opencost:
        opencost.serve_entry(bad)
        policy = {
            "apiVersion": "krr-mcp.io/v1alpha1",
            "kind": "ClusterRecommendationPolicy",
            "metadata": {"name": "default"},
            "spec": {"pricing": {"openCostUrl": opencost.url}},
        }
        real_cluster.apply(policy)
        try:
            options = ("-A", "--poll-interval", "0.5")
            with operator_process(real_cluster, tmp_path / "operator-bad.log", *options):
                found = wait_for("priced with the table", priced("OpenCostUnusable"), 120, interval=0.5)
                assert found["status"]["savings"]["perMonth"] == "19.63 USD"  # the built-in table
                assert found["status"]["savings"]["pricesFrom"].startswith("built-in table")

                def event() -> list[dict[str, Any]] | None:
                    listed = real_cluster.get(
                        "events", "-n", "default", "--field-selector", "reason=OpenCostUnusable"
                    )
                    return listed["items"] or None

                (posted,) = wait_for("the Warning Event", event, 60, interval=0.5)
                assert posted["type"] == "Warning" and "it answered HTTP 500" in posted["message"]
                assert posted["involvedObject"]["kind"] == "ClusterRecommendationPolicy"
                described = real_cluster.kubectl("describe", "clusterrecommendationpolicy", "default").stdout
                assert "OpenCostUnusable" in described and "it answered HTTP 500" in described
            assert len(opencost.queries) == 1  # once for every RR and pass, not once per reconcile

            opencost.serve(200, TWO_ALLOCATIONS)  # 0.04 per core-hour, 0.005 per GiB-hour
            with operator_process(real_cluster, tmp_path / "operator-good.log", *options):
                found = wait_for("priced with OpenCost's prices", priced("Priced"), 120, interval=0.5)
                savings = found["status"]["savings"]
                # 3 x (0.25 cores x 0.04 + 0.25 GiB x 0.005) x 730 h = 24.6375 -> 24.64 USD.
                assert savings["perMonth"] == "24.64 USD", savings
                assert savings["pricesFrom"] == f"OpenCost at {opencost.url} (/allocation, the last 7 days)"
        finally:
            real_cluster.kubectl("delete", "clusterrecommendationpolicy", "default", "--ignore-not-found")
