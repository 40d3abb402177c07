"""krr's simple-strategy rules as pure functions: rounding, floors, severities, literals, HPA, points."""

from __future__ import annotations

from datetime import timedelta

import pytest

from krr_mcp.recommenders import HpaInfo, ScanRequest
from krr_mcp.recommenders.promql import (
    duration_literal,
    metric_query,
    pods_period_literal,
    regex_alternatives,
    selector,
    step_literal,
)
from krr_mcp.recommenders.simple_strategy import (
    ContainerHistory,
    build_scan,
    field_severity,
    round_value,
    worst,
)

MIB = 1024 * 1024
REQ = ScanRequest()


@pytest.mark.parametrize(
    "value, resource, rounded, final, floored",
    [
        (0.0521, "cpu", 0.053, 0.053, False),
        (0.052, "cpu", 0.052, 0.052, False),
        (0.0031, "cpu", 0.004, 0.01, True),
        (593.2 * MIB, "memory", 594 * MIB, 594 * MIB, False),
        (593 * MIB, "memory", 593 * MIB, 593 * MIB, False),
        (40 * MIB, "memory", 40 * MIB, 100 * MIB, True),
    ],
)
def test_round_value(value: float, resource: str, rounded: float, final: float, floored: bool) -> None:
    assert round_value(value, resource, REQ) == (pytest.approx(rounded), pytest.approx(final), floored)


@pytest.mark.parametrize(
    "resource, current, recommended, severity",
    [
        ("cpu", None, None, "GOOD"),
        ("cpu", 0.5, None, "WARNING"),
        ("cpu", None, 0.2, "WARNING"),
        ("cpu", 0.1, "?", "UNKNOWN"),
        ("cpu", 1.0, 0.91, "GOOD"),
        ("cpu", 1.0, 0.9, "GOOD"),  # 1.0 - 0.9 < 0.1 in floating point, in krr too
        ("cpu", 1.0, 0.89, "OK"),
        ("cpu", 1.0, 0.75, "WARNING"),
        ("cpu", 1.0, 0.5, "CRITICAL"),
        ("memory", 1024 * MIB, 925 * MIB, "GOOD"),
        ("memory", 1024 * MIB, 924 * MIB, "OK"),
        ("memory", 1024 * MIB, 774 * MIB, "WARNING"),
        ("memory", 1024 * MIB, 524 * MIB, "CRITICAL"),
    ],
)
def test_field_severity(
    resource: str, current: float | None, recommended: float | str | None, severity: str
) -> None:
    assert field_severity(resource, current, recommended) == severity


def test_worst() -> None:
    assert worst(["GOOD", "UNKNOWN", "OK"]) == "OK"
    assert worst(["UNKNOWN"]) == "UNKNOWN"
    assert worst(["WARNING", "CRITICAL"]) == "CRITICAL"


def test_literals_match_krr() -> None:
    assert duration_literal(timedelta(hours=336)) == "14d"
    assert duration_literal(timedelta(hours=36)) == "1d"  # krr truncates to whole days above a day
    assert duration_literal(timedelta(hours=8)) == "480m"
    assert step_literal(timedelta(minutes=1.25)) == "75s"
    assert pods_period_literal(timedelta(hours=8)) == "8h"
    assert pods_period_literal(timedelta(hours=336)) == "14d"
    assert pods_period_literal(timedelta(days=90)) == "32d"


def test_queries() -> None:
    sel = selector("shop", ["web-1", "web.2"], "app")
    assert sel == 'namespace="shop",pod=~"web-1|web\\\\.2",container="app"'
    q = metric_query("cpu_percentile", sel, "14d", "75s", 95)
    assert q.startswith("quantile_over_time(0.95, max(rate(container_cpu_usage_seconds_total{")
    assert q.endswith("[75s])) by (container, pod, job)[14d:75s])")
    batched = selector("shop", None, None, ["app", "nginx"])
    fast = metric_query("memory_peak", batched, "14d", "75s", 95, aggregate=False)
    wanted = 'container_memory_working_set_bytes{namespace="shop",container=~"app|nginx"}'
    assert fast == f"max_over_time({wanted}[14d:75s])"
    assert regex_alternatives(["a+b", "c"]) == "a\\+b|c"


def _history(points: int) -> ContainerHistory:
    return ContainerHistory(
        cpu_percentile={"p1": 0.2, "p2": 0.31},
        cpu_points={"p1": points / 2, "p2": points / 2},
        memory_peak={"p1": 300 * MIB, "p2": 250 * MIB},
        memory_points={"p1": points / 2, "p2": points / 2},
    )


CURRENT = {"requests": {"cpu": 1.0, "memory": 512.0 * MIB}, "limits": {"cpu": None, "memory": 512.0 * MIB}}


def _scan(history: ContainerHistory, hpa: HpaInfo | None = None, **req: object):  # type: ignore[no-untyped-def]
    return build_scan(
        namespace="ns", kind="Deployment", name="w", container="c", pods=[], current=CURRENT,
        history=history, hpa=hpa, request=ScanRequest(**req),  # type: ignore[arg-type]
    )  # fmt: skip


def test_build_scan() -> None:
    scan = _scan(_history(200))
    assert scan.recommended is not None
    assert scan.recommended.model_dump(exclude_none=True) == {
        "requests": {"cpu": "310m", "memory": "345Mi"},  # 300Mi x 1.15 = 345Mi
        "limits": {"memory": "345Mi"},
    }
    assert scan.severities == {
        "requests.cpu": "CRITICAL",
        "requests.memory": "OK",  # 512Mi - 345Mi = 167Mi
        "limits.cpu": "GOOD",
        "limits.memory": "OK",
    }
    assert scan.severity == "CRITICAL"
    assert scan.usage.dataPoints == 200
    assert scan.usage.cpuPercentileCores == "310.000m"


def test_not_enough_points_and_hpa() -> None:
    assert _scan(_history(99)).unknown == ["cpu", "memory"]
    assert _scan(_history(99)).severity == "UNKNOWN"
    assert _scan(_history(99), points_required=50).proposable
    hpa = HpaInfo(target_memory_utilization_percentage=80)
    scan = _scan(_history(200), hpa)
    assert scan.unknown == ["memory"] and scan.info == {"memory": "HPA detected"} and not scan.proposable
    assert _scan(_history(200), hpa, allow_hpa=True).proposable


def test_no_data() -> None:
    scan = _scan(ContainerHistory())
    assert scan.info == {"cpu": "No data", "memory": "No data"}
    assert scan.recommended is None


@pytest.mark.parametrize("points", [200, 99])
def test_without_explanations_every_other_field_is_the_same(points: int) -> None:
    """scan_recommendations keeps no explanations (a third of a kept container's memory): nothing else
    about the container may change with them."""
    kept, lean = _scan(_history(points)), _scan(_history(points), keep_explanations=False)
    assert [e.resource for e in kept.explanation] == ["cpu", "memory"] and lean.explanation == []
    assert lean.model_dump(exclude={"explanation"}) == kept.model_dump(exclude={"explanation"})
