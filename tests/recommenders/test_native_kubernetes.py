"""The native engine confirming workloads with a Kubernetes API server (the sandbox) when given a client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from krr_mcp.recommenders import ScanRequest, get_recommendations

from ..builders import manifest, workload
from .conftest import GoldenPrometheus


def _request(golden: GoldenPrometheus, **fields: Any) -> ScanRequest:
    """A native scan of `golden`'s Prometheus at its evaluation time."""
    base: dict[str, Any] = dict(history_hours=golden.history_hours, end_time=golden.at)
    return ScanRequest(source="native", prometheus_url=golden.url, **(base | fields))


NGINX = {"requests": {"cpu": "150m", "memory": "200Mi"}}
APP = {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}


async def test_kubernetes_api_confirms_targets_and_current_resources(
    golden_prometheus: GoldenPrometheus, sandbox: Any
) -> None:
    sandbox.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data"}},
        # web exists with resources that differ from what kube-state-metrics last saw
        manifest(workload(name="web", namespace="shop", labels={"app": "web", "owner": "team-a"}, replicas=1,
                          containers=[{"name": "nginx", "image": "nginx", "resources": NGINX},
                                      {"name": "app", "image": "app", "resources": APP}])),
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
    request = _request(golden_prometheus)
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
    request = _request(golden_prometheus)
    with client.ApiClient(configuration) as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    assert any("could not list workloads through the Kubernetes API" in e.message for e in result.errors)
    assert len(result.items) == sum(len(w.containers) for w in golden_prometheus.spec.workloads)


def _hpa(
    ns: str, name: str, target: str, metrics: list[dict[str, Any]], status: dict[str, Any] | None = None
) -> dict[str, Any]:
    hpa: dict[str, Any] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"namespace": ns, "name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": metrics,
        },
    }
    if status is not None:
        hpa["status"] = status
    return hpa


def _resource(name: str, target: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def _golden_workloads_in(sandbox: Any, names: list[str]) -> None:
    """The golden cluster's Deployments `names` (shop namespace) in the API server."""
    sandbox.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    for name in names:
        containers = [
            {"name": c, "image": c}
            for c in {"web": ["nginx", "app"], "worker": ["worker"], "frontend": ["frontend"]}[name]
        ]
        sandbox.apply(manifest(workload(name=name, namespace="shop", labels={"app": name}, replicas=1,
                                        containers=containers)))  # fmt: skip


async def test_hpas_come_from_the_api_with_krrs_rule(
    golden_prometheus: GoldenPrometheus, sandbox: Any
) -> None:
    """krr reads HPAs from the API: a resource gets "?" when the FIRST Resource metric naming it targets
    averageUtilization. kube-state-metrics' HPA series (frontend has one on cpu) are not the truth
    when the API answers: frontend's HPA is gone, web and worker have new ones."""
    _golden_workloads_in(sandbox, ["web", "worker", "frontend"])
    sandbox.apply(
        _hpa("shop", "web", "web", [_resource("cpu", {"type": "Utilization", "averageUtilization": 80})]),
        _hpa("shop", "worker", "worker", [
            _resource("cpu", {"type": "AverageValue", "averageValue": "300m"}),  # krr: not an HPA on cpu
            _resource("cpu", {"type": "Utilization", "averageUtilization": 50}),  # not the first: ignored
            _resource("memory", {"type": "Utilization", "averageUtilization": 70}),
        ], status={"currentReplicas": 1, "desiredReplicas": 1}),
    )  # fmt: skip
    request = _request(golden_prometheus)
    with sandbox.api_client() as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    by = {(i.name, i.container): i for i in result.items}
    assert not result.errors
    for container in ("nginx", "app"):  # the sandbox keeps no status on create: still an HPA
        assert by["web", container].unknown == ["cpu"], container
        assert by["web", container].info == {"cpu": "HPA detected"}
    worker = by["worker", "worker"]
    assert worker.unknown == ["memory"] and worker.info == {"memory": "HPA detected"}
    assert worker.hpa is not None and worker.hpa.current_replicas == 1
    assert worker.hpa.target_cpu_utilization_percentage is None
    assert worker.explanation[0].final_value is not None  # cpu recommended
    frontend = by["frontend", "frontend"]
    assert frontend.hpa is None and frontend.unknown == [] and frontend.proposable
    # allow_hpa gives the numbers anyway, as in krr.
    with sandbox.api_client() as api_client:
        allowed = await get_recommendations(
            request.model_copy(update={"allow_hpa": True}), kube_api=api_client
        )
    assert all(i.proposable for i in allowed.items)


async def test_hpa_list_failure_falls_back_to_kube_state_metrics_and_says_so(
    golden_prometheus: GoldenPrometheus, sandbox: Any, monkeypatch: Any
) -> None:
    from krr_mcp.recommenders import discovery

    monkeypatch.setattr(discovery, "_HPA_PLURAL", "nosuchresources")  # 404 from v2, then from v1
    _golden_workloads_in(sandbox, ["frontend"])
    request = _request(golden_prometheus)
    with sandbox.api_client() as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    assert [e.message for e in result.errors if "could not list HPAs" in e.message]
    (frontend,) = result.items
    assert frontend.unknown == ["cpu"] and frontend.info == {"cpu": "HPA detected"}  # kube-state-metrics'


async def test_seeded_sandbox_hpa_has_a_status_and_is_detected(seeded_sandbox: Any) -> None:
    from krr_mcp.recommenders.discovery import list_from_kubernetes

    hpa = seeded_sandbox.get("autoscaling/v2", "HorizontalPodAutoscaler", "cart", "shop")
    assert hpa is not None and hpa["status"]["currentReplicas"] == 2
    with seeded_sandbox.api_client() as api_client:
        view = list_from_kubernetes(api_client, ScanRequest(namespaces=["shop"]))
    assert view.hpas is not None
    cart = view.hpas["shop", "Deployment", "cart"]
    assert cart.target_cpu_utilization_percentage == 70 and cart.current_replicas == 2


async def test_kube_state_metrics_stopped_the_api_still_finds_the_workloads(
    golden_prometheus: GoldenPrometheus, sandbox: Any
) -> None:
    """20 minutes after kube-state-metrics stopped its series are stale: an instant query finds no
    workload. The API lists them; the owner links over the window still give the pods."""
    later = golden_prometheus.at + timedelta(minutes=20)
    request = _request(golden_prometheus, end_time=later, namespaces=["shop"])
    alone = await get_recommendations(request)
    assert alone.items == []
    (error,) = alone.errors
    assert error.scope == "scan" and "kube-state-metrics has no kube_*_labels series" in error.message
    assert alone.summary.errors == 1
    _golden_workloads_in(sandbox, ["web"])
    with sandbox.api_client() as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    assert not result.errors
    assert {i.container for i in result.items} == {"nginx", "app"}
    assert all(i.proposable and len(i.pods) == 2 for i in result.items)
    with sandbox.api_client() as api_client:
        none = await get_recommendations(request.model_copy(update={"names": ["nope"]}), kube_api=api_client)
    assert none.items == [] and "none matching" in none.errors[0].message


async def test_without_kube_state_metrics_pods_come_from_the_api(
    prometheus_without_ksm: GoldenPrometheus, sandbox: Any
) -> None:
    """kube-state-metrics never installed: krr lists the pods through the API (NoPrometheusPods)."""
    _golden_workloads_in(sandbox, ["web"])
    pods = [p.name for w in prometheus_without_ksm.spec.workloads if w.name == "web" for p in w.pods]
    for pod in [*pods, "other-pod"]:
        sandbox.apply({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": "shop", "name": pod, "labels": {"app": "web" if pod in pods else "x"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
        })  # fmt: skip
    request = _request(prometheus_without_ksm)
    with sandbox.api_client() as api_client:
        result = await get_recommendations(request, kube_api=api_client)
    assert not result.errors
    assert {i.container for i in result.items} == {"nginx", "app"}
    for item in result.items:
        assert sorted(p.name for p in item.pods) == sorted(pods)
        assert item.warnings == ["NoPrometheusPods"] and item.proposable
    per_object = await _with_api(sandbox, request.model_copy(update={"query_mode": "per_object"}))
    assert [i.recommended for i in per_object.items] == [i.recommended for i in result.items]


async def _with_api(sandbox: Any, request: ScanRequest) -> Any:
    with sandbox.api_client() as api_client:
        return await get_recommendations(request, kube_api=api_client)


async def test_a_kind_the_api_refuses_is_skipped_and_said(
    golden_prometheus: GoldenPrometheus, sandbox: Any, monkeypatch: Any
) -> None:
    """An identity that may not list Jobs (403): krr skips the kind; so does the engine, and says so."""
    from krr_mcp.kube.client import error_for
    from krr_mcp.recommenders import discovery

    listing = discovery._list

    def refuse_jobs(api_client: Any, api_version: str, plural: str, *rest: Any) -> Any:
        if plural == "jobs":
            raise error_for("list jobs: 403 jobs.batch is forbidden", 403, "Forbidden")
        return listing(api_client, api_version, plural, *rest)

    monkeypatch.setattr(discovery, "_list", refuse_jobs)
    _golden_workloads_in(sandbox, ["web"])
    with sandbox.api_client() as api_client:
        result = await get_recommendations(_request(golden_prometheus), kube_api=api_client)
    assert [e.message for e in result.errors] == [
        "the Kubernetes API would not list Jobs (403 Forbidden): none are scanned (krr skips them too)"
    ]
    assert {i.container for i in result.items} == {"nginx", "app"} and all(i.proposable for i in result.items)


SCAN_IN_A_FRESH_PROCESS = """
import asyncio, json, sys
from datetime import datetime
from krr_mcp.kube.client import connect
from krr_mcp.recommenders import ScanRequest, get_recommendations
url, kubeconfig, at, hours = sys.argv[1:]
request = ScanRequest(source="native", prometheus_url=url, history_hours=float(hours),
                      end_time=datetime.fromisoformat(at))
result = asyncio.run(get_recommendations(request, kube_api=connect(kubeconfig)))
generated = sorted(
    m for m in sys.modules if m.startswith(("kubernetes.client.api.", "kubernetes.client.models."))
)
print(json.dumps({"containers": sorted(i.container for i in result.items),
                  "errors": [e.message for e in result.errors], "generated": generated}))
"""


def test_a_scan_through_the_api_loads_no_generated_kubernetes_classes(
    golden_prometheus: GoldenPrometheus, sandbox: Any
) -> None:
    """The kubernetes package's generated API and model classes cost about 30 MB in every process that
    imports them (issue 17 item 7: a 10,000-container scan under 250 MB): the engine lists workloads,
    HPAs and pods through the plain JSON client, so a whole scan imports none of them."""
    import json
    import subprocess
    import sys

    _golden_workloads_in(sandbox, ["web"])
    args = [golden_prometheus.url, str(sandbox.kubeconfig), golden_prometheus.at.isoformat(),
            str(golden_prometheus.history_hours)]  # fmt: skip
    run = subprocess.run([sys.executable, "-c", SCAN_IN_A_FRESH_PROCESS, *args], capture_output=True,
                         text=True, check=False, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["containers"] == ["app", "nginx"] and found["errors"] == []
    assert found["generated"] == []


async def test_workloads_are_listed_a_page_at_a_time(
    golden_prometheus: GoldenPrometheus, sandbox: Any, monkeypatch: Any
) -> None:
    """A whole list decoded at once was a 10,000-container scan's peak: the engine lists LIST_PAGE items
    per request (`limit`/`continue`) and finds every workload across pages."""
    from krr_mcp.recommenders import discovery

    monkeypatch.setattr(discovery, "LIST_PAGE", 1)
    _golden_workloads_in(sandbox, ["web", "worker", "frontend"])
    before = sandbox.server.requests_served
    with sandbox.api_client() as api_client:
        view = discovery.list_from_kubernetes(api_client, ScanRequest())
    assert sorted(k[2] for k in view.workloads) == ["frontend", "web", "worker"]
    # three Deployments: three pages (the last says there are no more); one page per other kind and HPAs
    assert sandbox.server.requests_served - before == 3 + 4 + 1
    result = await _with_api(sandbox, _request(golden_prometheus))
    assert {(i.name, i.container) for i in result.items} >= {("web", "nginx"), ("worker", "worker")}
