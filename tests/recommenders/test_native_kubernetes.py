"""The native engine confirming workloads with a Kubernetes API server (the sandbox) when given a client."""

from __future__ import annotations

from typing import Any

from krr_mcp_bridge.recommenders import ScanRequest, get_recommendations

from .conftest import GoldenPrometheus


def _deployment(
    ns: str, name: str, labels: dict[str, str], containers: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"namespace": ns, "name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
    }


NGINX = {"requests": {"cpu": "150m", "memory": "200Mi"}}
APP = {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}


async def test_kubernetes_api_confirms_targets_and_current_resources(
    golden_prometheus: GoldenPrometheus, sandbox: Any
) -> None:
    sandbox.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data"}},
        # web exists with resources that differ from what kube-state-metrics last saw
        _deployment("shop", "web", {"app": "web", "owner": "team-a"}, [
            {"name": "nginx", "image": "nginx", "resources": NGINX},
            {"name": "app", "image": "app", "resources": APP},
        ]),
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"namespace": "data", "name": "db", "labels": {"owner": "team-b"}},
            "spec": {
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                             "spec": {"containers": [{"name": "postgres", "image": "postgres"}]}},
            },
        },
    )  # fmt: skip
    request = ScanRequest(
        source="native",
        prometheus_url=golden_prometheus.url,
        history_hours=golden_prometheus.history_hours,
        end_time=golden_prometheus.at,
    )
    with sandbox.api_client() as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    # Only what the API server has is scanned (worker, api, agent, ... exist only in Prometheus).
    assert {(i.kind, i.name, i.container) for i in result.items} == {
        ("Deployment", "web", "nginx"),
        ("Deployment", "web", "app"),
        ("StatefulSet", "db", "postgres"),
    }
    by_container = {i.container: i for i in result.items}
    assert by_container["app"].current.model_dump(exclude_none=True) == {
        "requests": {"cpu": "2", "memory": "2Gi"},
        "limits": {"memory": "2Gi"},
    }
    assert by_container["nginx"].current.requests.cpu == "150m"
    assert by_container["postgres"].current.model_dump(exclude_none=True) == {"requests": {}, "limits": {}}
    assert by_container["app"].labels == {"app": "web", "owner": "team-a"}
    assert all(i.proposable for i in result.items)
    # The usage numbers are Prometheus' either way.
    plain = await get_recommendations(request)
    plain_app = next(i for i in plain.items if i.container == "app")
    assert plain_app.recommended == by_container["app"].recommended
    # Labels now come from the API server, so a selector on them works.
    with sandbox.api_client() as api_client:
        selected = await get_recommendations(request.model_copy(update={"label_selector": "owner=team-b"}),
                                             kube_api=api_client)  # fmt: skip
    assert [i.name for i in selected.items] == ["db"]


async def test_unreachable_api_server_falls_back_to_kube_state_metrics_and_says_so(
    golden_prometheus: GoldenPrometheus,
) -> None:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard port: nothing answers
    configuration.retries = 0
    request = ScanRequest(
        source="native",
        prometheus_url=golden_prometheus.url,
        history_hours=golden_prometheus.history_hours,
        end_time=golden_prometheus.at,
    )
    with client.ApiClient(configuration) as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    assert any("could not confirm workloads with the Kubernetes API" in e.message for e in result.errors)
    assert len(result.items) == sum(len(w.containers) for w in golden_prometheus.spec.workloads)
