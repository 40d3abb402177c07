"""Per-container rules, table-driven at their boundaries: exactly at a bound passes, one unit past refuses."""

from __future__ import annotations

import pytest

from krr_mcp.api.policy import PolicySpec, ResourceBounds, StepLimit, StepLimits

from ..builders import SMALL, resources, rr_spec, workload
from .safety_checks import messages, rules, run

MI = 1024 * 1024


def _refused(report, rule: str) -> bool:
    return rule in rules(report, "refuse")


@pytest.mark.parametrize(
    ("proposed", "refused"),
    [
        (resources(cpu="10m", memory="512Mi", memory_limit="512Mi"), False),  # cpu exactly at the floor
        (resources(cpu="9m", memory="512Mi", memory_limit="512Mi"), True),  # one millicore under
        (resources(cpu="0.0099", memory="512Mi", memory_limit="512Mi"), True),  # under, other spelling
        (resources(cpu="500m", memory="100Mi", memory_limit="100Mi"), False),  # memory exactly at the floor
        (resources(cpu="500m", memory=str(100 * MI - 1), memory_limit="100Mi"), True),  # one byte under
        (resources(cpu="500m", memory="100Mi", memory_limit=str(100 * MI - 1)), True),  # the limit too
        (resources(cpu="500m", memory="512Mi", cpu_limit="9m", memory_limit="512Mi"), True),  # cpu limit
    ],
)
def test_floor(proposed, refused) -> None:
    live = workload(containers={"app": proposed}, replicas=3)  # live == proposed: no step in the way
    report = run(rr_spec(proposed, peak="50Mi"), live)
    assert _refused(report, "floor") is refused
    if refused:
        assert "below the floor" in messages(report, "floor")[0]


@pytest.mark.parametrize(
    ("cpu", "memory", "refused"),
    [
        ("64", "256Gi", False),  # exactly at the built-in ceilings
        ("64001m", "256Gi", True),
        ("64", str(256 * 1024 * MI + 1), True),
    ],
)
def test_ceiling(cpu, memory, refused) -> None:
    proposed = resources(cpu=cpu, memory=memory, memory_limit=memory)
    report = run(rr_spec(proposed), workload(containers={"app": proposed}, replicas=3))
    assert _refused(report, "ceiling") is refused


def test_policy_floor_and_ceiling_override_the_builtins() -> None:
    proposed = resources(cpu="50m", memory="512Mi", memory_limit="512Mi")
    live = workload(containers={"app": proposed}, replicas=3)
    policy = PolicySpec(floors=ResourceBounds(cpu="51m"), ceilings=ResourceBounds(memory="511Mi"))
    report = run(rr_spec(proposed), live, policy=policy)
    assert messages(report, "floor") == ["requests.cpu 50m is below the floor 51m"]
    assert sorted(messages(report, "ceiling")) == [
        "limits.memory 512Mi is above the ceiling 511Mi",
        "requests.memory 512Mi is above the ceiling 511Mi",
    ]


@pytest.mark.parametrize(
    ("live", "proposed", "refused"),
    [
        # memory: at most -50% ...
        (resources(memory="1Gi"), resources(memory="512Mi"), False),
        (resources(memory="1Gi"), resources(memory=str(512 * MI - 1)), True),
        # ... and at most 4x
        (resources(memory="1Gi"), resources(memory="4Gi"), False),
        (resources(memory="1Gi"), resources(memory=str(4 * 1024 * MI + 1)), True),
        # limits are stepped too
        (resources(memory="1Gi", memory_limit="1Gi"), resources(memory="1Gi", memory_limit="511Mi"), True),
        # cpu: same defaults
        (resources(cpu="1"), resources(cpu="500m"), False),
        (resources(cpu="1"), resources(cpu="499m"), True),
        (resources(cpu="1"), resources(cpu="4"), False),
        (resources(cpu="1"), resources(cpu="4001m"), True),
        # a value set for the first time has no step
        (resources(cpu="1"), resources(cpu="1", memory="60Gi"), False),
    ],
)
def test_max_step(live, proposed, refused) -> None:
    report = run(rr_spec(proposed, peak=None), workload(containers={"app": live}, replicas=3))
    assert _refused(report, "max-step") is refused


def test_max_step_message_has_the_numbers() -> None:
    report = run(
        rr_spec(resources(cpu="200m"), peak=None),
        workload(containers={"app": resources(cpu="1")}, replicas=3),
    )
    assert messages(report, "max-step") == [
        "requests.cpu 1 -> 200m drops 80%, more than the allowed 50% in one change (lowest allowed 500m)"
    ]


def test_policy_can_allow_a_larger_step() -> None:
    live = workload(containers={"app": resources(memory="1Gi")}, replicas=3)
    spec = rr_spec(resources(memory="200Mi"), peak="100Mi")
    assert _refused(run(spec, live), "max-step")
    generous = PolicySpec(maxStep=StepLimits(memory=StepLimit(maxDecreasePercent=90)))
    report = run(spec, live, policy=generous)
    assert not _refused(report, "max-step")
    assert report.allowed


@pytest.mark.parametrize(
    ("proposed", "refused"),
    [
        (resources(memory="300Mi", memory_limit="400Mi"), False),  # request exactly at the peak
        (resources(memory=str(300 * MI - 1), memory_limit="400Mi"), True),  # one byte under
        (resources(memory="300Mi", memory_limit="300Mi"), False),  # limit exactly at the peak
        (resources(memory="280Mi", memory_limit=str(300 * MI - 1)), True),
    ],
)
def test_memory_never_below_peak(proposed, refused) -> None:
    report = run(
        rr_spec(proposed, peak="300Mi"), workload(containers={"app": resources(memory="400Mi")}, replicas=3)
    )
    assert _refused(report, "memory-below-peak") is refused


@pytest.mark.parametrize(
    ("limit", "warned"),
    [("330Mi", False), (str(330 * MI - 1), True), ("300Mi", True)],  # 10% over a 300Mi peak is 330Mi
)
def test_little_memory_headroom_is_high_risk(limit, warned) -> None:
    report = run(
        rr_spec(resources(memory="300Mi", memory_limit=limit), peak="300Mi"),
        workload(containers={"app": SMALL}, replicas=3),
    )
    assert ("memory-headroom" in rules(report, "warning")) is warned
    if warned:
        assert report.risk == "high"


@pytest.mark.parametrize(
    ("proposed", "refused"),
    [
        (resources(cpu="200m", cpu_limit="200m", memory="256Mi", memory_limit="256Mi"), False),  # equal
        (resources(cpu="200m", cpu_limit="199m", memory="256Mi", memory_limit="256Mi"), True),
        (resources(cpu="200m", memory="256Mi", memory_limit=str(256 * MI - 1)), True),
    ],
)
def test_limits_never_below_requests(proposed, refused) -> None:
    # The CRD's own CEL rule catches this too (tests/api/test_cel_rules.py); here the live path.
    from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec

    spec = rr_spec(resources(cpu="200m", memory="256Mi", memory_limit="256Mi"))
    data = spec.model_dump(mode="json", exclude_none=True)
    data["containers"][0]["proposed"] = proposed
    report = run(
        ResourceRecommendationSpec.model_validate(data), workload(containers={"app": SMALL}, replicas=3)
    )
    assert _refused(report, "limits-below-requests") is refused


def test_memory_decrease_without_evidence_warns_or_refuses_per_policy() -> None:
    spec = rr_spec(resources(cpu="500m", memory="400Mi", memory_limit="400Mi"), peak=None)
    warned = run(spec)
    assert "memory-evidence" in rules(warned, "warning")
    assert warned.allowed and warned.risk == "high"
    refused = run(spec, policy=PolicySpec(requireUsageEvidence=True))
    assert "memory-evidence" in rules(refused, "refuse")
    increase = run(rr_spec(resources(cpu="500m", memory="600Mi", memory_limit="600Mi"), peak=None))
    assert "memory-evidence" not in rules(increase)


def test_oom_history_with_a_memory_decrease_is_high_risk() -> None:
    spec = rr_spec(resources(cpu="500m", memory="400Mi", memory_limit="400Mi"), peak="200Mi", oom=True)
    report = run(spec)
    assert "oom-history" in rules(report, "warning")
    assert report.risk == "high"
    grow = run(rr_spec(resources(cpu="500m", memory="600Mi", memory_limit="600Mi"), oom=True))
    assert "oom-history" not in rules(grow)


@pytest.mark.parametrize(
    ("proposed", "severity", "risk"),
    [
        (resources(cpu="500m", memory="512Mi"), "warning", "medium"),  # memory limit removed
        (resources(cpu="500m", memory="512Mi", memory_limit="512Mi"), None, "low"),  # unchanged
    ],
)
def test_removed_values(proposed, severity, risk) -> None:
    report = run(rr_spec(proposed))
    found = [f for f in report.findings if f.rule == "removed"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    assert report.risk == risk


def test_removing_a_cpu_limit_is_low_risk_information() -> None:
    live = workload(
        containers={"app": resources(cpu="500m", cpu_limit="1", memory="512Mi", memory_limit="512Mi")},
        replicas=3,
    )
    report = run(rr_spec(resources(cpu="500m", memory="512Mi", memory_limit="512Mi")), live)
    assert [(f.severity, f.message) for f in report.findings if f.rule == "removed"] == [
        ("info", "limits.cpu 1 is removed (no CPU limit: krr's simple strategy)")
    ]
    assert report.risk == "low"


def test_within_max_step_limits_each_value_so_check_step_passes() -> None:
    """The bridge's `within_max_step` (propose_change within_max_step=true) moves each value at most the
    policy's step, rounding towards the current value, and leaves values without a current one alone."""
    from krr_mcp.api.policy import BUILTIN_POLICY
    from krr_mcp.api.resource_recommendation import ContainerResources
    from krr_mcp.core.safety.container_rules import within_max_step

    current = ContainerResources.model_validate(
        {"requests": {"cpu": "1", "memory": "16Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    )
    wanted = ContainerResources.model_validate(
        {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"memory": "380Mi"}}
    )
    limited = within_max_step(current, wanted, BUILTIN_POLICY)  # at most -50% or x4 per change
    assert limited.model_dump(exclude_none=True) == {
        "requests": {"cpu": "500m", "memory": "64Mi"},
        "limits": {"memory": "1Gi"},
    }
    odd = PolicySpec(maxStep=StepLimits(cpu=StepLimit(maxIncreaseFactor=1.5)))
    up = within_max_step(
        ContainerResources.model_validate({"requests": {"cpu": "333m"}}),
        ContainerResources.model_validate({"requests": {"cpu": "2"}}),
        odd,
    )
    assert up.requests.cpu == "499m"  # 499.5m rounded down: still within the step
    small = ContainerResources.model_validate({"requests": {"cpu": "600m", "memory": "16Mi"}})
    assert within_max_step(current, small, BUILTIN_POLICY).requests == small.requests
