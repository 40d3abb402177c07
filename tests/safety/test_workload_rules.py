"""Workload-level rules: protection and opt-out, GitOps, HPAs, QoS class, replicas, PodDisruptionBudgets."""

from __future__ import annotations

from typing import Any

import pytest

from krr_mcp.api.policy import HpaMode, PolicySpec
from krr_mcp.core.safety import ClusterContext

from ..builders import SMALL, resources, rr_spec, workload
from ..builders import namespace as namespace_obj
from .safety_checks import messages, rules, run

GROW = resources(cpu="600m", memory="600Mi", memory_limit="600Mi")  # an increase: no other rule fires


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease", "krr-mcp-system"])
def test_default_protected_namespaces_are_refused(namespace: str) -> None:
    report = run(
        rr_spec(GROW),
        workload(namespace=namespace, containers={"app": SMALL}, replicas=3),
        ClusterContext(namespace=namespace_obj(namespace)),
    )
    assert rules(report, "refuse") == ["protected-namespace"]
    assert not report.allowed and report.risk == "critical"


def test_protected_namespaces_are_configurable() -> None:
    policy = PolicySpec(protectedNamespaces=["default"])
    assert "protected-namespace" in rules(run(rr_spec(GROW), policy=policy), "refuse")
    kube_system = workload(namespace="kube-system", containers={"app": SMALL}, replicas=3)
    assert run(rr_spec(GROW), kube_system, ClusterContext(), policy).allowed  # the list replaces the default


@pytest.mark.parametrize(
    ("where", "value", "refused"),
    [
        ("workload-label", "true", True),
        ("workload-annotation", "true", True),
        ("namespace-label", "true", True),
        ("namespace-annotation", "True", True),
        ("workload-label", "false", False),
        ("namespace-annotation", "", False),
    ],
)
def test_opt_out(where: str, value: str, refused: bool) -> None:
    marker = {"krr-mcp.io/ignore": value}
    live = workload(
        labels=marker if where == "workload-label" else None,
        annotations=marker if where == "workload-annotation" else None,
        containers={"app": SMALL},
        replicas=3,
    )
    ns = namespace_obj(
        labels=marker if where == "namespace-label" else None,
        annotations=marker if where == "namespace-annotation" else None,
    )
    report = run(rr_spec(GROW), live, ClusterContext(namespace=ns))
    assert ("opt-out" in rules(report, "refuse")) is refused


def test_opt_out_key_is_configurable() -> None:
    live = workload(labels={"example.com/hands-off": "true"}, containers={"app": SMALL}, replicas=3)
    assert run(rr_spec(GROW), live).allowed
    report = run(rr_spec(GROW), live, policy=PolicySpec(optOutKey="example.com/hands-off"))
    assert messages(report, "opt-out") == ['the workload opted out with label example.com/hands-off: "true"']


@pytest.mark.parametrize(
    ("labels", "annotations", "controller"),
    [
        ({"argocd.argoproj.io/instance": "shop"}, {}, "Argo CD"),
        ({}, {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/web"}, "Argo CD"),
        ({"app.kubernetes.io/instance": "shop", "app.kubernetes.io/managed-by": "argocd"}, {}, "Argo CD"),
        ({"kustomize.toolkit.fluxcd.io/name": "apps"}, {}, "Flux"),
        ({"helm.toolkit.fluxcd.io/name": "web"}, {}, "Flux"),
        ({"app.kubernetes.io/instance": "shop"}, {}, None),  # Helm's standard label alone is not GitOps
        ({}, {}, None),
    ],
)
def test_gitops_is_warned(
    labels: dict[str, str], annotations: dict[str, str], controller: str | None
) -> None:
    report = run(
        rr_spec(GROW), workload(labels=labels, annotations=annotations, containers={"app": SMALL}, replicas=3)
    )
    found = messages(report, "gitops")
    if controller is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(f"managed by {controller}")
        assert "commit the patch" in found[0]
        assert report.allowed and report.risk == "medium"


def hpa(metrics: list[dict[str, Any]] | None = None, target: str = "web", **spec: Any) -> dict[str, Any]:
    body = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}, **spec}
    if metrics is not None:
        body["metrics"] = metrics
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": body,
    }


def resource_metric(
    name: str, target_type: str = "Utilization", container: str | None = None
) -> dict[str, Any]:
    target = (
        {"type": target_type, "averageUtilization": 70}
        if target_type == "Utilization"
        else {"type": target_type}
    )
    if container:
        return {
            "type": "ContainerResource",
            "containerResource": {"name": name, "container": container, "target": target},
        }
    return {"type": "Resource", "resource": {"name": name, "target": target}}


CPU_UP = resources(cpu="600m", memory="512Mi", memory_limit="512Mi")  # only the cpu request changes


@pytest.mark.parametrize(
    ("the_hpa", "expected"),
    [
        (hpa([resource_metric("cpu")]), "warning"),
        (hpa([resource_metric("cpu", container="app")]), "warning"),
        (hpa(targetCPUUtilizationPercentage=80), "warning"),  # autoscaling/v1 shape
        (hpa([resource_metric("cpu", "AverageValue")]), "info"),  # absolute target: not moved
        (hpa([resource_metric("memory")]), None),  # memory request unchanged
        (hpa([resource_metric("cpu", container="sidecar")]), None),  # another container
        (hpa([resource_metric("cpu")], target="other"), None),  # another workload
    ],
)
def test_hpa_on_a_changed_resource(the_hpa: dict[str, Any], expected: str | None) -> None:
    report = run(rr_spec(CPU_UP), context=ClusterContext(namespace=namespace_obj(), hpas=[the_hpa]))
    assert [f.severity for f in report.findings if f.rule == "hpa"] == ([expected] if expected else [])


def test_hpa_refuse_mode() -> None:
    context = ClusterContext(namespace=namespace_obj(), hpas=[hpa([resource_metric("cpu")])])
    report = run(rr_spec(CPU_UP), context=context, policy=PolicySpec(hpaMode=HpaMode.REFUSE))
    assert rules(report, "refuse") == ["hpa"]
    assert "HPA web scales on cpu utilization of the pod" in messages(report, "hpa")[0]


@pytest.mark.parametrize(
    ("live", "proposed", "change"),
    [
        (
            resources(cpu="500m", cpu_limit="500m", memory="512Mi", memory_limit="512Mi"),
            resources(cpu="400m", memory="512Mi", memory_limit="512Mi"),
            "Guaranteed -> Burstable",
        ),
        (
            resources(cpu="500m", memory="512Mi", memory_limit="512Mi"),
            resources(cpu="500m", cpu_limit="500m", memory="512Mi", memory_limit="512Mi"),
            "Burstable -> Guaranteed",
        ),
        (  # limits only: requests default to them, so still Guaranteed
            resources(cpu_limit="500m", memory_limit="512Mi"),
            resources(cpu_limit="600m", memory_limit="600Mi"),
            None,
        ),
        (resources(cpu="500m", memory="512Mi"), resources(cpu="600m", memory="600Mi"), None),
    ],
)
def test_qos_class_change(live: dict[str, Any], proposed: dict[str, Any], change: str | None) -> None:
    report = run(rr_spec(proposed), workload(containers={"app": live}, replicas=3))
    found = messages(report, "qos")
    assert found == (
        [f"pod QoS class changes {change} (changes eviction order under node pressure)"] if change else []
    )


def test_qos_to_best_effort_is_high_risk() -> None:
    live = workload(containers={"app": resources(cpu="100m")}, replicas=3)
    spec = rr_spec({}, current=resources(cpu="100m"))
    report = run(spec, live)
    assert "Burstable -> BestEffort" in messages(report, "qos")[0]
    assert report.risk == "high"


@pytest.mark.parametrize(
    ("kind", "count", "expected"),
    [
        ("Deployment", 1, "warning"),
        ("StatefulSet", 1, "warning"),
        ("Deployment", 2, None),
        ("Deployment", 0, "info"),
        ("DaemonSet", 1, None),
        ("CronJob", 1, None),
    ],
)
def test_single_replica(kind: str, count: int, expected: str | None) -> None:
    report = run(rr_spec(GROW, kind=kind), workload(kind=kind, replicas=count, containers={"app": SMALL}))
    assert [f.severity for f in report.findings if f.rule == "single-replica"] == (
        [expected] if expected else []
    )


def test_replicas_default_to_one() -> None:
    report = run(rr_spec(GROW), workload(replicas=None, containers={"app": SMALL}))
    assert rules(report, "warning") == ["single-replica"]


def pdb(selector: dict[str, Any] | None, allowed: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 2, "selector": selector},
        "status": {"disruptionsAllowed": allowed},
    }


@pytest.mark.parametrize(
    ("the_pdb", "expected"),
    [
        (pdb({"matchLabels": {"app": "web"}}), "info"),
        (pdb({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}), "info"),
        (pdb({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}), "info"),
        (pdb({}), "info"),  # an empty selector matches every pod
        (pdb({"matchLabels": {"app": "web"}}, allowed=0), "warning"),
        (pdb({"matchLabels": {"app": "api"}}), None),
        (pdb({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}), None),
        (pdb(None), None),  # no selector: matches nothing
    ],
)
def test_pdb_is_reported(the_pdb: dict[str, Any], expected: str | None) -> None:
    report = run(rr_spec(GROW), context=ClusterContext(namespace=namespace_obj(), pdbs=[the_pdb]))
    assert [f.severity for f in report.findings if f.rule == "pdb"] == ([expected] if expected else [])
    if expected:
        assert "PodDisruptionBudget web (minAvailable=2)" in messages(report, "pdb")[0]
