"""The demo's generated usage history: one pod per replica, owned the way kube-state-metrics says."""

from __future__ import annotations

from krr_mcp.demo.history import MIB, PROFILES, history_for, running_pods
from krr_mcp.sandbox.seed import default_objects

END = 1_764_000_000


def seed_workloads() -> list[dict]:
    kinds = {"Deployment", "StatefulSet", "DaemonSet", "CronJob"}
    return [o for o in default_objects() if o["kind"] in kinds]


def test_every_seeded_container_gets_history_with_its_owner_chain() -> None:
    spec = history_for(seed_workloads(), END, days=1, step=60)
    assert spec.end == END and spec.start == END - 86400
    by_name = {(w.namespace, w.name): w for w in spec.workloads}
    web = by_name[("shop", "web")]
    assert [c.name for c in web.containers] == ["web", "log-shipper"]
    assert len(web.pods) == 3  # replicas
    (replicaset,) = web.controllers
    assert all(p.owner_kind == "ReplicaSet" and p.owner_name == replicaset for p in web.pods)
    assert all(p.name.startswith(replicaset + "-") for p in web.pods)
    postgres = by_name[("billing", "postgres")]
    assert [p.name for p in postgres.pods] == ["postgres-0"]
    assert postgres.pods[0].owner_kind == "StatefulSet" and not postgres.controllers
    report = by_name[("batch", "nightly-report")]
    assert report.pods[0].owner_kind == "Job" and report.pods[0].owner_name in report.controllers
    assert by_name[("shop", "node-agent")].pods[0].owner_kind == "DaemonSet"


def test_usage_follows_the_profile_of_the_requests() -> None:
    spec = history_for(seed_workloads(), END)
    web = next(w for w in spec.workloads if w.name == "web")
    container = web.containers[0]  # requests 1 CPU, 1Gi
    cpu_factor, mem_factor = PROFILES[("shop", "web", "web")]
    assert container.requests == {"cpu": 1.0, "memory": 1024.0 * MIB}
    assert container.cpu_base + container.cpu_amp <= 1.0 * cpu_factor * 1.2  # well under the request
    assert container.mem_base < 1024 * MIB * mem_factor
    shipper = web.containers[1]  # requests 16Mi, uses more
    assert shipper.mem_base > 16 * MIB


def test_the_seeded_hpa_is_in_the_history() -> None:
    objects = [*seed_workloads(), *(o for o in default_objects() if o["kind"] == "HorizontalPodAutoscaler")]
    spec = history_for(objects, END, days=1, step=60)
    by_name = {w.name: w for w in spec.workloads}
    assert "cart" in by_name and len(spec.workloads) == len(seed_workloads())  # the HPA is no workload
    hpa = by_name["cart"].hpa
    assert hpa is not None and (hpa.name, hpa.min_replicas, hpa.max_replicas) == ("cart", 2, 6)
    assert hpa.target_cpu_utilization == 70 and hpa.target_memory_utilization is None
    assert all(w.hpa is None for w in spec.workloads if w.name != "cart")


def _owned(kind: str, name: str, owner_kind: str, owner: str, phase: str | None = None) -> dict:
    obj: dict = {
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "shop",
            "ownerReferences": [{"kind": owner_kind, "name": owner, "controller": True}],
        },
    }
    if phase:
        obj["status"] = {"phase": phase}
    return obj


def test_the_pods_that_really_run_replace_the_made_up_ones() -> None:
    """On a real cluster the history is that of the running pods, under their controllers' names."""
    pods = [
        _owned("Pod", "web-5974774d46-b", "ReplicaSet", "web-5974774d46", "Running"),
        _owned("Pod", "web-5974774d46-a", "ReplicaSet", "web-5974774d46", "Running"),
        _owned("Pod", "web-5974774d46-z", "ReplicaSet", "web-5974774d46", "Pending"),  # not running
        _owned("Pod", "node-agent-x", "DaemonSet", "node-agent", "Running"),
        _owned("Pod", "stray-1", "ReplicaSet", "stray", "Running"),  # a ReplicaSet of no Deployment
        {"kind": "Pod", "metadata": {"name": "bare", "namespace": "shop"}, "status": {"phase": "Running"}},
    ]
    controllers = [
        _owned("ReplicaSet", "web-5974774d46", "Deployment", "web"),
        {"kind": "ReplicaSet", "metadata": {"name": "stray", "namespace": "shop"}},
    ]
    found = running_pods(pods, controllers)
    assert found == {
        ("shop", "Deployment", "web"): [
            ("web-5974774d46-a", "ReplicaSet", "web-5974774d46"),
            ("web-5974774d46-b", "ReplicaSet", "web-5974774d46"),
        ],
        ("shop", "DaemonSet", "node-agent"): [("node-agent-x", "DaemonSet", "node-agent")],
    }
    spec = history_for(seed_workloads(), END, days=1, step=60, pods=found)
    by_name = {w.name: w for w in spec.workloads}
    web = by_name["web"]
    assert [p.name for p in web.pods] == ["web-5974774d46-a", "web-5974774d46-b"]
    assert set(web.controllers) == {"web-5974774d46"}
    assert [p.name for p in by_name["node-agent"].pods] == ["node-agent-x"]
    assert not by_name["node-agent"].controllers
    assert len(by_name["cart"].pods) == 2  # not in `pods`: made up, one per replica
