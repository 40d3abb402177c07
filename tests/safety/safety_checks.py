"""Running the safety rules in tests: `run` evaluates an RR spec against a live workload (by default
the builders' SMALL baseline, 3 replicas) and its surroundings; `rules` and `messages` read the report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from krr_mcp.api.policy import PolicySpec
from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec, SafetyReport
from krr_mcp.core.safety import ClusterContext, evaluate

from ..builders import SMALL, namespace, rr_spec, workload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def run(
    spec: ResourceRecommendationSpec | None = None,
    live: dict[str, Any] | None = None,
    context: ClusterContext | None = None,
    policy: PolicySpec | None = None,
) -> SafetyReport:
    return evaluate(
        spec or rr_spec(),
        live if live is not None else workload(containers={"app": SMALL}, replicas=3),
        context or ClusterContext(namespace=namespace()),
        policy or PolicySpec(),
        NOW,
    )


def rules(report: SafetyReport, severity: str | None = None) -> list[str]:
    """The rule names of the report's findings (of one severity), without the closing `risk` summary."""
    return [
        f.rule for f in report.findings if f.rule != "risk" and (severity is None or f.severity == severity)
    ]


def messages(report: SafetyReport, rule: str) -> list[str]:
    return [f.message for f in report.findings if f.rule == rule]
