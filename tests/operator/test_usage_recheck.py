"""The pure decision on usage re-read from Prometheus at apply time (issue 15 item 9, operator side)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec
from krr_mcp.core.decisions import Action, DecisionInputs, decide
from krr_mcp.core.usage_recheck import UsageReading, UsageVerdict, usage_recheck

from ..builders import workload

MI = 2**20


def spec(
    memory: str = "400Mi", recorded: str | None = "380Mi", limit: str = "1Gi"
) -> ResourceRecommendationSpec:
    usage = {"usage": {"memoryPeak": recorded}} if recorded else {}
    return ResourceRecommendationSpec.model_validate(
        {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "containers": [
                {
                    "name": "app",
                    "current": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
                    "proposed": {"requests": {"cpu": "250m", "memory": memory}, "limits": {"memory": limit}},
                    **usage,
                }
            ],
            "evidence": {"source": "native", "historyHours": 24},
            "reason": "r",
        }
    )


def peak(mib: int) -> UsageReading:
    return UsageReading(peaks={"app": Decimal(mib * MI)})


@pytest.mark.parametrize(
    ("the_spec", "reading", "reason"),
    [
        (spec(), peak(380), None),  # agrees: applied
        (spec(memory="380Mi"), peak(380), None),  # exactly at the peak passes
        (spec(memory=str(380 * MI - 1)), peak(380), "BelowObservedPeak"),  # one byte under
        (spec(limit="300Mi", memory="300Mi"), peak(380), "BelowObservedPeak"),
        (spec(recorded="100Mi"), peak(380), "EvidenceDisagrees"),  # the model's "100Mi" vs the real peak
        (spec(recorded="900Mi"), peak(380), "EvidenceDisagrees"),  # and the other way
        (spec(recorded="475Mi"), peak(380), None),  # within 25%
        (spec(recorded="476Mi"), peak(380), "EvidenceDisagrees"),  # just past it
        (spec(recorded=None), peak(380), None),  # no recorded peak (manual): the peak check alone
        (spec(), UsageReading(peaks={"app": None}), "UsageUnverified"),  # no data: cannot be checked
        (spec(), UsageReading(), "UsageUnverified"),
    ],
)
def test_usage_recheck(
    the_spec: ResourceRecommendationSpec, reading: UsageReading, reason: str | None
) -> None:
    verdict = usage_recheck(the_spec, reading)
    assert (verdict.reason if verdict else None) == reason
    if verdict:
        assert not verdict.retry and "app" in verdict.message


def test_prometheus_unreachable_waits_and_never_applies() -> None:
    verdict = usage_recheck(spec(), UsageReading(error="connection refused"))
    assert verdict == UsageVerdict(
        "UsageUnavailable",
        "usage could not be re-read from Prometheus before applying (connection refused); retrying",
        retry=True,
    )


def _approved_rr(the_spec: ResourceRecommendationSpec) -> dict:
    body = the_spec.model_dump(mode="json", exclude_none=True) | {"approved": True, "approvedBy": "alice"}
    return {"metadata": {"name": "web-rr", "namespace": "default", "generation": 2}, "spec": body}


LIVE = {
    "app": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
}  # the live Deployment web's container app


def test_decide_refuses_or_waits_on_the_usage_verdict() -> None:
    from datetime import UTC, datetime

    from krr_mcp.api.resource_recommendation import SafetyReport

    now = datetime(2026, 12, 4, tzinfo=UTC)
    allowed = SafetyReport(allowed=True, risk="low", findings=[], checkedAt=now)
    rr = _approved_rr(spec())
    applied = decide(DecisionInputs(rr, workload(containers=LIVE), now, safety=allowed))
    assert applied.action == Action.APPLY
    refused = decide(
        DecisionInputs(
            rr,
            workload(containers=LIVE),
            now,
            safety=allowed,
            usage_verdict=UsageVerdict("BelowObservedPeak", "m"),
        )
    )
    assert (refused.action, refused.phase, refused.reason) == (Action.REFUSE, "Failed", "BelowObservedPeak")
    waiting = decide(
        DecisionInputs(
            rr,
            workload(containers=LIVE),
            now,
            safety=allowed,
            usage_verdict=UsageVerdict("UsageUnavailable", "m", retry=True),
        )
    )
    assert (waiting.action, waiting.phase, waiting.reason) == (Action.WAIT, "Approved", "UsageUnavailable")
