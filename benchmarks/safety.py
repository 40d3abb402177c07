#!/usr/bin/env python3
"""Safety rules benchmark: how long one `krr_mcp.core.safety.evaluate` call takes.

Builds a workload with N containers (all proposed for a change) in a namespace with LimitRanges,
ResourceQuotas, HPAs and PDBs, and times `evaluate` (best of several runs; it is pure, so repeats are
identical). Prints a table: containers, context objects, findings, microseconds per call.

    ./uvw run python benchmarks/safety.py
"""

from __future__ import annotations

import functools
import timeit
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec
from krr_mcp.core.safety import ClusterContext, evaluate

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CURRENT = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}
PROPOSED = {"requests": {"cpu": "300m", "memory": "400Mi"}, "limits": {"memory": "400Mi"}}


def scenario(
    containers: int, context_objects: int
) -> tuple[ResourceRecommendationSpec, dict[str, Any], ClusterContext]:
    names = [f"c{i}" for i in range(containers)]
    workload = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 5,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": n, "resources": CURRENT} for n in names]},
            },
        },
    }
    spec = ResourceRecommendationSpec.model_validate(
        {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "containers": [
                {"name": n, "current": CURRENT, "proposed": PROPOSED, "usage": {"memoryPeak": "300Mi"}}
                for n in names
            ],
            "evidence": {"source": "krr"},
            "reason": "benchmark",
        }
    )
    k = context_objects
    context = ClusterContext(
        namespace={"metadata": {"name": "shop"}},
        limit_ranges=[
            {
                "metadata": {"name": f"lr{i}"},
                "spec": {"limits": [{"type": "Container", "max": {"memory": "4Gi"}}]},
            }
            for i in range(k)
        ],
        resource_quotas=[
            {
                "metadata": {"name": f"q{i}"},
                "status": {"hard": {"requests.cpu": "100"}, "used": {"requests.cpu": "10"}},
            }
            for i in range(k)
        ],
        hpas=[
            {
                "metadata": {"name": f"h{i}"},
                "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "web" if i == 0 else f"other{i}"},
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}
                    ],
                },
            }
            for i in range(k)
        ],
        pdbs=[
            {"metadata": {"name": f"p{i}"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}
            for i in range(k)
        ],
    )
    return spec, workload, context


def main() -> None:
    table = Table(title="krr_mcp.core.safety.evaluate")
    for column in ("containers", "context objects", "findings", "µs per call"):
        table.add_column(column, justify="right")
    policy = PolicySpec()
    for containers, objects in ((1, 1), (4, 4), (16, 8), (64, 32)):
        spec, workload, context = scenario(containers, objects)
        report = evaluate(spec, workload, context, policy, NOW)
        runs = 20 if containers < 64 else 5
        call = functools.partial(evaluate, spec, workload, context, policy, NOW)
        best = min(timeit.repeat(call, number=runs, repeat=3))
        table.add_row(
            str(containers), str(4 * objects), str(len(report.findings)), f"{best / runs * 1e6:,.0f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
