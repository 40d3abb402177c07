"""Which scan result the demo's assistant proposes, and the propose_change arguments it sends."""

from __future__ import annotations

from krr_mcp.demo.choose import choose_workload, propose_arguments, scan_items


def item(
    name: str, container: str, cpu: str, new_cpu: str, severity: str = "WARNING", kind: str = "Deployment"
) -> dict:
    return {
        "namespace": "shop",
        "kind": kind,
        "name": name,
        "container": container,
        "severity": severity,
        "current": {"requests": {"cpu": cpu, "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
        "recommended": {"requests": {"cpu": new_cpu, "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
        "usage": {"cpuPercentileCores": "10m", "dataPoints": 100},
    }


def test_picks_the_most_severe_then_biggest_change_and_all_its_containers() -> None:
    items = [
        item("api", "app", "1", "900m", "CRITICAL", kind="StatefulSet"),
        item("web", "app", "1", "100m"),
        item("web", "sidecar", "200m", "50m"),
        item("cart", "app", "1", "800m", "CRITICAL"),
        item("same", "app", "1", "1000m", "CRITICAL"),
    ]
    chosen = choose_workload(items)
    assert [(i["name"], i["container"]) for i in chosen] == [("cart", "app")]
    chosen = choose_workload([i for i in items if i["name"] != "cart"])
    assert [(i["name"], i["container"]) for i in chosen] == [("web", "app"), ("web", "sidecar")]


def test_nothing_to_propose_when_every_recommendation_equals_the_current_values() -> None:
    assert choose_workload([item("same", "app", "1", "1000m")]) == []
    assert choose_workload([item("web", "app", "1", "100m") | {"proposable": False}]) == []
    assert scan_items({"items": [1]}) == [1] and scan_items({}) == []


def test_propose_arguments_carry_the_scan_numbers_unchanged() -> None:
    chosen = [item("web", "app", "1", "100m")]
    scan = {
        "source": "native",
        "strategy": "simple",
        "settings": {"history_duration": 168.0, "cpu_percentile": 95, "junk": 1},
    }
    args = propose_arguments(chosen, scan)
    assert args["proposals"] == [
        {
            "namespace": "shop",
            "kind": "Deployment",
            "name": "web",
            "containers": [
                {"name": "app", "requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}}
            ],
        }
    ]
    assert args["evidence"] == {
        "source": "native",
        "history_hours": 168,
        "cpu_percentile": 95,
        "strategy": "simple",
    }
    assert args["usage"] == [{"container": "app", "usage": {"cpuPercentileCores": "10m", "dataPoints": 100}}]
    assert "app: WARNING" in args["reason"]
