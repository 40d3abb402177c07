"""Which scan result the demo's assistant proposes, and the propose_change arguments it sends."""

from __future__ import annotations

from krr_mcp.demo.choose import candidates, preview_arguments, propose_arguments, scan_items


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
        "usage": {"cpuPercentileCores": "10m", "cpuPeakCores": None, "dataPoints": 100},
    }


def test_picks_the_most_severe_then_biggest_change_and_all_its_containers() -> None:
    items = [
        item("api", "app", "1", "900m", "CRITICAL", kind="StatefulSet"),
        item("web", "app", "1", "100m"),
        item("web", "sidecar", "200m", "50m"),
        item("cart", "app", "1", "800m", "CRITICAL"),
        item("same", "app", "1", "1000m", "CRITICAL"),
    ]
    chosen = candidates(items)[0]
    assert [(i["name"], i["container"]) for i in chosen] == [("cart", "app")]
    chosen = candidates([i for i in items if i["name"] != "cart"])[0]
    assert [(i["name"], i["container"]) for i in chosen] == [("web", "app"), ("web", "sidecar")]


def test_nothing_to_propose_when_every_recommendation_equals_the_current_values() -> None:
    assert candidates([item("same", "app", "1", "1000m")]) == []
    assert candidates([item("web", "app", "1", "100m") | {"proposable": False}]) == []
    assert scan_items({"items": [1]}) == [1] and scan_items({}) == []


def test_propose_arguments_name_the_scan_and_the_recommendation_never_numbers() -> None:
    chosen = [item("web", "app", "1", "100m")]
    scan = {"scan_id": "0123456789abcdef", "source": "native", "strategy": "simple", "settings": {}}
    args = propose_arguments(chosen, scan)
    assert args["proposals"] == [
        {
            "namespace": "shop",
            "kind": "Deployment",
            "name": "web",
            "containers": [{"name": "app"}],
            "within_max_step": True,
        }
    ]
    # exactly propose_change's arguments: the numbers, usage and evidence come from the bridge's kept scan
    assert set(args) == {"proposals", "reason", "scan_id"} and args["scan_id"] == "0123456789abcdef"
    assert "app: WARNING" in args["reason"]
    assert preview_arguments(chosen, scan) == {**args["proposals"][0], "scan_id": "0123456789abcdef"}


def test_candidates_try_the_whole_workload_then_each_container() -> None:
    items = [
        item("web", "app", "1", "100m", "CRITICAL"),
        item("web", "sidecar", "200m", "50m"),
        item("api", "api", "1", "900m", "OK"),
    ]
    groups = candidates(items)
    assert [[(i["name"], i["container"]) for i in g] for g in groups] == [
        [("web", "app"), ("web", "sidecar")],
        [("web", "app")],
        [("web", "sidecar")],
        [("api", "api")],
    ]
