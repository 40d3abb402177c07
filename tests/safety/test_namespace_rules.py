"""LimitRange and ResourceQuota rules, at their boundaries, with the numbers in the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from krr_mcp.core.safety import ClusterContext

from ..builders import namespace as namespace_obj
from ..builders import resources, rr_spec, workload
from .safety_checks import messages, rules, run

MI = 1024 * 1024


def limit_range(item: dict[str, Any], name: str = "limits") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name}, "spec": {"limits": [item]}}


def ctx(**kwargs: Any) -> ClusterContext:
    return ClusterContext(namespace=namespace_obj(), **kwargs)


def _lr_refused(
    proposed: dict[str, Any], item: dict[str, Any], live: dict[str, Any] | None = None
) -> list[str]:
    report = run(
        rr_spec(proposed, peak="50Mi"),
        workload(containers={"app": live or proposed}, replicas=3),
        ctx(limit_ranges=[limit_range(item)]),
    )
    return messages(report, "limit-range")


@pytest.mark.parametrize(
    ("proposed", "item", "refused"),
    [
        # min
        (resources(cpu="100m", memory="200Mi"), {"type": "Container", "min": {"cpu": "100m"}}, False),
        (resources(cpu="99m", memory="200Mi"), {"type": "Container", "min": {"cpu": "100m"}}, True),
        (resources(cpu="200m", cpu_limit="99m"), {"type": "Container", "min": {"cpu": "100m"}}, True),
        (resources(memory="200Mi"), {"type": "Container", "min": {"memory": "200Mi"}}, False),
        (resources(memory=str(200 * MI - 1)), {"type": "Container", "min": {"memory": "200Mi"}}, True),
        # max (a limit is needed; the LimitRange's default fills a missing one)
        (resources(memory="1Gi", memory_limit="1Gi"), {"type": "Container", "max": {"memory": "1Gi"}}, False),
        (
            resources(memory="1Gi", memory_limit="1025Mi"),
            {"type": "Container", "max": {"memory": "1Gi"}},
            True,
        ),
        (resources(memory="1025Mi"), {"type": "Container", "max": {"memory": "1Gi"}}, True),  # request > max
        (resources(memory="512Mi"), {"type": "Container", "max": {"memory": "1Gi"}}, False),  # default <- max
        # maxLimitRequestRatio
        (
            resources(cpu="100m", cpu_limit="400m"),
            {"type": "Container", "maxLimitRequestRatio": {"cpu": "4"}},
            False,
        ),
        (
            resources(cpu="100m", cpu_limit="401m"),
            {"type": "Container", "maxLimitRequestRatio": {"cpu": "4"}},
            True,
        ),
        # defaultRequest fills a missing request before the ratio is checked
        (
            resources(cpu_limit="1"),
            {"type": "Container", "defaultRequest": {"cpu": "100m"}, "maxLimitRequestRatio": {"cpu": "10"}},
            False,
        ),
        # other item types do not apply to containers
        (resources(cpu="1m"), {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}, False),
    ],
)
def test_limit_range_container_items(proposed, item, refused) -> None:
    assert bool(_lr_refused(proposed, item)) is refused


def test_limit_range_refusal_names_the_object_and_numbers() -> None:
    found = _lr_refused(
        resources(cpu="100m", cpu_limit="401m"), {"type": "Container", "maxLimitRequestRatio": {"cpu": "4"}}
    )
    assert found == ["LimitRange limits: cpu limit/request 401m/100m = 4.01 is above maxLimitRequestRatio 4"]
    found = _lr_refused(resources(cpu="99m"), {"type": "Container", "min": {"cpu": "100m"}})
    assert found == ["LimitRange limits: requests.cpu 99m is below min 100m"]


def test_limit_range_pod_items_use_the_pod_sum() -> None:
    live = {"app": resources(cpu="300m"), "sidecar": resources(cpu="200m")}
    item = {"type": "Pod", "max": {"cpu": "600m"}}
    ok = run(
        rr_spec(resources(cpu="400m"), peak=None),
        workload(containers=live, replicas=3),
        ctx(limit_ranges=[limit_range(item)]),
    )
    assert "limit-range" not in rules(ok)  # 400m + 200m = 600m: exactly at max
    over = run(
        rr_spec(resources(cpu="401m"), peak=None),
        workload(containers=live, replicas=3),
        ctx(limit_ranges=[limit_range(item)]),
    )
    assert messages(over, "limit-range") == [
        "pod total requests.cpu 601m is above LimitRange limits Pod max 600m"
    ]


def quota(hard: dict[str, str], used: dict[str, str], name: str = "team") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": name},
        "spec": {"hard": hard},
        "status": {"hard": hard, "used": used},
    }


def _quota_report(
    proposed: dict[str, Any], q: dict[str, Any], replicas: int = 3, strategy: dict | None = None
):
    live = workload(
        containers={"app": resources(cpu="500m", memory="512Mi", memory_limit="512Mi")}, replicas=replicas
    )
    live["spec"]["strategy"] = strategy or {"type": "Recreate"}
    return run(rr_spec(proposed), live, ctx(resource_quotas=[q]))


@pytest.mark.parametrize(
    ("key", "proposed", "used", "hard", "refused"),
    [
        # +100m x 3 replicas = 300m needed
        ("requests.cpu", resources(cpu="600m", memory="512Mi", memory_limit="512Mi"), "1700m", "2", False),
        ("requests.cpu", resources(cpu="600m", memory="512Mi", memory_limit="512Mi"), "1701m", "2", True),
        ("cpu", resources(cpu="600m", memory="512Mi", memory_limit="512Mi"), "1701m", "2", True),  # alias
        # +128Mi x 3 = 384Mi needed, on requests and limits
        (
            "requests.memory",
            resources(cpu="500m", memory="640Mi", memory_limit="640Mi"),
            "640Mi",
            "1Gi",
            False,
        ),
        (
            "limits.memory",
            resources(cpu="500m", memory="640Mi", memory_limit="640Mi"),
            str(640 * MI + 1),
            "1Gi",
            True,
        ),
        # a decrease always fits, even in an over-used quota
        ("requests.cpu", resources(cpu="400m", memory="512Mi", memory_limit="512Mi"), "5", "2", False),
    ],
)
def test_quota_headroom(key, proposed, used, hard, refused) -> None:
    report = _quota_report(proposed, quota({key: hard}, {key: used}))
    assert ("resource-quota" in rules(report, "refuse")) is refused


def test_quota_refusal_has_the_numbers() -> None:
    report = _quota_report(
        resources(cpu="600m", memory="512Mi", memory_limit="512Mi"),
        quota({"requests.cpu": "2"}, {"requests.cpu": "1800m"}),
    )
    assert messages(report, "resource-quota") == [
        "ResourceQuota team requests.cpu: change needs 300m (100m x 3 replicas), "
        "hard 2 - used 1800m leaves 200m"
    ]


def test_quota_tracking_limits_needs_every_container_to_set_them() -> None:
    report = _quota_report(
        resources(cpu="500m", memory="512Mi"), quota({"limits.memory": "10Gi"}, {"limits.memory": "1Gi"})
    )
    assert messages(report, "resource-quota") == [
        "ResourceQuota team tracks limits.memory: every container must set it"
    ]


def test_rolling_update_surge_that_does_not_fit_warns() -> None:
    # 4 replicas, maxSurge 25% -> 1 surge pod of up to 600m; +100m x 4 = 400m steady state: 1000m in all.
    proposed = resources(cpu="600m", memory="512Mi", memory_limit="512Mi")
    rolling = {"type": "RollingUpdate"}
    fits = _quota_report(proposed, quota({"requests.cpu": "3"}, {"requests.cpu": "2"}), 4, rolling)
    assert "resource-quota" not in rules(fits)
    tight = quota({"requests.cpu": "3"}, {"requests.cpu": "2001m"})
    warned = _quota_report(proposed, tight, 4, rolling)
    assert "resource-quota" in rules(warned, "warning") and warned.allowed
    assert "1 surge pod(s) need up to 600m more" in messages(warned, "resource-quota")[0]
    recreate = _quota_report(proposed, tight, 4, {"type": "Recreate"})  # no surge pods
    assert "resource-quota" not in rules(recreate)
