"""The pure decision on usage re-read from Prometheus at apply time (issue 15 item 9, operator side)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec
from krr_mcp.core.decisions import Action, DecisionInputs, decide
from krr_mcp.core.usage_recheck import UsageReading, UsageVerdict, usage_recheck

from ..builders import ORIGINAL, resources, rr_spec, workload

MI = 2**20


# rr_spec() fields: `app` ORIGINAL -> 250m / `memory` (limit 1Gi), scanned natively over 24 h
RECHECKED: dict[str, Any] = {
    "current": ORIGINAL,
    "oom": None,
    "evidence": {"source": "native", "historyHours": 24},
    "reason": "r",
}
# the default: 400Mi proposed, 380Mi recorded
SPEC = rr_spec(resources("250m", "400Mi", memory_limit="1Gi"), peak="380Mi", **RECHECKED)


def peak(mib: int) -> UsageReading:
    return UsageReading(peaks={"app": Decimal(mib * MI)})


@pytest.mark.parametrize(
    ("the_spec", "reading", "reason"),
    [
        (SPEC, peak(380), None),  # agrees: applied
        (
            rr_spec(resources("250m", "380Mi", memory_limit="1Gi"), peak="380Mi", **RECHECKED),
            peak(380),
            None,
        ),  # exactly at the peak passes
        (
            rr_spec(resources("250m", str(380 * MI - 1), memory_limit="1Gi"), peak="380Mi", **RECHECKED),
            peak(380),
            "BelowObservedPeak",
        ),  # one byte under
        (
            rr_spec(resources("250m", "300Mi", memory_limit="300Mi"), peak="380Mi", **RECHECKED),
            peak(380),
            "BelowObservedPeak",
        ),
        (
            rr_spec(resources("250m", "400Mi", memory_limit="1Gi"), peak="100Mi", **RECHECKED),
            peak(380),
            "EvidenceDisagrees",
        ),  # the model's "100Mi" vs the real peak
        (
            rr_spec(resources("250m", "400Mi", memory_limit="1Gi"), peak="900Mi", **RECHECKED),
            peak(380),
            "EvidenceDisagrees",
        ),  # and the other way
        (
            rr_spec(resources("250m", "400Mi", memory_limit="1Gi"), peak="475Mi", **RECHECKED),
            peak(380),
            None,
        ),  # within 25%
        (
            rr_spec(resources("250m", "400Mi", memory_limit="1Gi"), peak="476Mi", **RECHECKED),
            peak(380),
            "EvidenceDisagrees",
        ),  # just past it
        (
            rr_spec(resources("250m", "400Mi", memory_limit="1Gi"), peak=None, **RECHECKED),
            peak(380),
            None,
        ),  # no recorded peak (manual): the peak check alone
        (SPEC, UsageReading(peaks={"app": None}), "UsageUnverified"),  # no data: cannot be checked
        (SPEC, UsageReading(), "UsageUnverified"),
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
    verdict = usage_recheck(
        SPEC,
        UsageReading(error="connection refused"),
    )
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
    rr = _approved_rr(SPEC)
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
