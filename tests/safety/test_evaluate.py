"""evaluate() as a whole: target checks, risk levels and their reasons, purity, every workload kind."""

from __future__ import annotations

import copy

import pytest

from krr_mcp.api.policy import BUILTIN_POLICY, PolicySpec
from krr_mcp.core.safety import ClusterContext, evaluate

from ..builders import SMALL, resources, rr_spec, workload
from ..builders import namespace as namespace_obj
from .safety_checks import NOW, messages, rules, run


def test_a_plain_increase_is_low_risk_and_allowed() -> None:
    report = run(rr_spec(resources(cpu="600m", memory="600Mi", memory_limit="600Mi")))
    assert report.allowed and report.risk == "low"
    assert report.checkedAt == NOW
    assert report.findings[-1].rule == "risk"
    assert report.findings[-1].message == "risk low: no rule raised the risk"


def test_a_memory_decrease_is_medium_risk_with_the_reason() -> None:
    report = run(rr_spec(resources(cpu="500m", memory="400Mi", memory_limit="400Mi"), peak="200Mi"))
    assert report.allowed and report.risk == "medium"
    assert report.findings[-1].message == "risk medium: memory decreases"


def test_a_refusal_is_critical_and_names_it() -> None:
    report = run(rr_spec(resources(cpu="5m", memory="512Mi", memory_limit="512Mi")))
    assert not report.allowed and report.risk == "critical"
    assert "requests.cpu 5m is below the floor 10m" in report.findings[-1].message


@pytest.mark.parametrize(
    ("kind", "name", "problem"),
    [
        ("StatefulSet", "web", "the workload is StatefulSet/web, the recommendation targets Deployment/web"),
        ("Deployment", "api", "the workload is Deployment/api, the recommendation targets Deployment/web"),
    ],
)
def test_target_mismatch_is_refused(kind: str, name: str, problem: str) -> None:
    report = run(rr_spec(), workload(kind=kind, name=name, containers={"app": SMALL}, replicas=3))
    assert messages(report, "target") == [problem]
    assert not report.allowed


def test_unknown_container_is_refused() -> None:
    report = run(rr_spec(container="worker"))
    assert messages(report, "container") == ["the workload has no container named worker"]


def test_unreadable_live_quantity_is_refused_not_raised() -> None:
    live = workload(containers={"app": {"requests": {"cpu": "lots"}}}, replicas=3)
    report = run(rr_spec(), live)
    assert rules(report, "refuse") == ["quantity"]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "CronJob"])
def test_every_supported_kind_is_read(kind: str) -> None:
    # A floor violation proves the container was found through the kind's template path.
    report = run(
        rr_spec(resources(cpu="5m"), kind=kind, peak=None),
        workload(kind=kind, containers={"app": resources(cpu="5m")}, replicas=3),
    )
    assert rules(report, "refuse") == ["floor"]


def test_init_containers_count_for_qos_and_quota() -> None:
    live = workload(
        containers={"app": resources(cpu="500m", cpu_limit="500m", memory="512Mi", memory_limit="512Mi")},
        init_containers={"setup": resources(cpu="100m")},
        replicas=3,
    )
    # Without the init container this would be Guaranteed -> Burstable; with it, Burstable before and after.
    report = run(rr_spec(resources(cpu="600m", memory="600Mi", memory_limit="600Mi")), live)
    assert "qos" not in rules(report)
    alone = workload(
        containers={"app": resources(cpu="500m", cpu_limit="500m", memory="512Mi", memory_limit="512Mi")},
        replicas=3,
    )
    assert "qos" in rules(run(rr_spec(resources(cpu="600m", memory="600Mi", memory_limit="600Mi")), alone))


def test_evaluate_is_pure() -> None:
    spec = rr_spec(resources(cpu="300m", memory="400Mi", memory_limit="400Mi"))
    live = workload(labels={"argocd.argoproj.io/instance": "shop"}, containers={"app": SMALL}, replicas=3)
    context = ClusterContext(
        namespace=namespace_obj(),
        limit_ranges=[
            {
                "metadata": {"name": "lr"},
                "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}}]},
            }
        ],
    )
    snapshot = copy.deepcopy((spec.model_dump(), live, context))
    first = evaluate(spec, live, context, PolicySpec(), NOW)
    second = evaluate(spec, live, context, PolicySpec(), NOW)
    assert first == second
    assert (spec.model_dump(), live, context) == snapshot


def test_empty_policy_means_builtin_defaults() -> None:
    spec = rr_spec(resources(cpu="300m", memory="300Mi", memory_limit="300Mi"))
    assert run(spec, policy=PolicySpec()) == run(spec, policy=BUILTIN_POLICY)


def test_findings_name_the_container() -> None:
    report = run(rr_spec(resources(cpu="5m", memory="512Mi", memory_limit="512Mi")))
    assert [f.container for f in report.findings if f.rule == "floor"] == ["app"]


def test_unreadable_limit_range_quantity_is_refused_not_raised() -> None:
    broken = {"metadata": {"name": "lr"}, "spec": {"limits": [{"type": "Container", "max": {"cpu": "NaN"}}]}}
    report = run(context=ClusterContext(namespace=namespace_obj(), limit_ranges=[broken]))
    assert rules(report, "refuse") == ["quantity"]
    assert "cannot be read" in messages(report, "quantity")[0]
