"""The native engine's discovery on the real kube-apiserver, as the bridge's own ServiceAccount (RBAC
enforced): workloads, Jobs and HPAs are listed as krr lists them, and an HPA's status is the real
server's. Usage comes from the golden Prometheus (tests/recommenders/conftest.py)."""

from __future__ import annotations

import pytest
from kubernetes import config

from krr_mcp.recommenders import ScanRequest, get_recommendations

from ..builders import manifest, workload
from ..recommenders.conftest import GoldenPrometheus, golden_prometheus  # noqa: F401 (fixture)
from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]
NAMESPACE = "shop"  # the golden cluster's namespace: its usage history is in the golden Prometheus


async def test_the_bridge_identity_lists_what_krr_lists_and_hpas_come_from_the_api(
    real_cluster: RealCluster,
    golden_prometheus: GoldenPrometheus,  # noqa: F811
) -> None:
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    real_cluster.apply(
        *(
            manifest(workload(name=name, namespace=NAMESPACE, labels={"app": name}, replicas=0, containers=[
                {"name": c, "image": "example/app:1"} for c in containers
            ]))
            for name, containers in (("web", ["nginx", "app"]), ("worker", ["worker"]))
        ),
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"namespace": NAMESPACE, "name": "worker"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"},
                "minReplicas": 1,
                "maxReplicas": 3,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}],
            },
        },
    )  # fmt: skip
    served = real_cluster.get("hpa", "worker", "-n", NAMESPACE)
    assert "status" in served  # a real API server always returns one
    request = ScanRequest(
        source="native",
        prometheus_url=golden_prometheus.url,
        history_hours=golden_prometheus.history_hours,
        end_time=golden_prometheus.at,
        namespaces=[NAMESPACE],
    )
    bridge_kubeconfig = str(real_cluster.kubeconfig_for("krr-mcp-bridge"))
    with config.new_client_from_config(config_file=bridge_kubeconfig) as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    # No kind refused (Deployments, StatefulSets, DaemonSets, CronJobs, Jobs), HPAs listed: no note.
    assert result.errors == [], [e.message for e in result.errors]
    by = {(i.name, i.container): i for i in result.items}
    assert set(by) == {("web", "nginx"), ("web", "app"), ("worker", "worker")}
    assert by["web", "app"].proposable and by["web", "nginx"].proposable
    worker = by["worker", "worker"]
    assert worker.unknown == ["cpu"] and worker.info == {"cpu": "HPA detected"}
    assert worker.hpa is not None and worker.hpa.target_cpu_utilization_percentage == 60
