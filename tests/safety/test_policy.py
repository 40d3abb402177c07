"""RecommendationPolicy: merge order (namespace over cluster over built-in) and validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from krr_mcp.api.policy import (
    BUILTIN_POLICY,
    DEFAULT_PROTECTED_NAMESPACES,
    HpaMode,
    PolicyError,
    PolicySpec,
    RecommendationPolicy,
    ResourceBounds,
    StepLimit,
    StepLimits,
    effective_policy,
    policy_from_objects,
)


def test_builtin_defaults() -> None:
    policy = effective_policy()
    assert policy == BUILTIN_POLICY
    assert policy.floors == ResourceBounds(cpu="10m", memory="100Mi")
    assert policy.maxStep and policy.maxStep.memory == StepLimit(maxDecreasePercent=50, maxIncreaseFactor=4)
    assert policy.protectedNamespaces == DEFAULT_PROTECTED_NAMESPACES
    assert policy.optOutKey == "krr-mcp.io/ignore"
    assert policy.hpaMode == HpaMode.WARN


@pytest.mark.parametrize(
    ("cluster", "namespaced", "expected_floor_cpu", "expected_floor_memory", "expected_hpa"),
    [
        (None, None, "10m", "100Mi", "warn"),
        (PolicySpec(floors=ResourceBounds(cpu="20m")), None, "20m", "100Mi", "warn"),
        (None, PolicySpec(floors=ResourceBounds(memory="64Mi")), "10m", "64Mi", "warn"),
        (
            PolicySpec(floors=ResourceBounds(cpu="20m", memory="200Mi"), hpaMode=HpaMode.REFUSE),
            PolicySpec(floors=ResourceBounds(cpu="5m")),
            "5m",  # the namespace wins on cpu ...
            "200Mi",  # ... the cluster default still gives memory (merged field by field)
            "refuse",
        ),
    ],
)
def test_merge_order(cluster, namespaced, expected_floor_cpu, expected_floor_memory, expected_hpa) -> None:
    policy = effective_policy(cluster, namespaced)
    assert policy.floors == ResourceBounds(cpu=expected_floor_cpu, memory=expected_floor_memory)
    assert policy.hpaMode == expected_hpa
    assert policy.ceilings == BUILTIN_POLICY.ceilings


def test_nested_step_limits_merge_field_by_field() -> None:
    cluster = PolicySpec(maxStep=StepLimits(memory=StepLimit(maxIncreaseFactor=2)))
    namespaced = PolicySpec(maxStep=StepLimits(memory=StepLimit(maxDecreasePercent=10)))
    policy = effective_policy(cluster, namespaced)
    assert policy.maxStep and policy.maxStep.memory == StepLimit(maxDecreasePercent=10, maxIncreaseFactor=2)
    assert policy.maxStep.cpu == StepLimit(maxDecreasePercent=50, maxIncreaseFactor=4)


def test_a_namespace_policy_cannot_unprotect_namespaces() -> None:
    cluster = PolicySpec(protectedNamespaces=["kube-system", "payments"])
    namespaced = PolicySpec(protectedNamespaces=[], optOutKey="nothing")
    policy = effective_policy(cluster, namespaced)
    assert policy.protectedNamespaces == ["kube-system", "payments"]
    assert policy.optOutKey == "krr-mcp.io/ignore"


def test_policy_from_objects() -> None:
    cluster = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ClusterRecommendationPolicy",
        "metadata": {"name": "default"},
        "spec": {"hpaMode": "refuse"},
    }
    namespaced = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "RecommendationPolicy",
        "metadata": {"name": "default", "namespace": "shop"},
        "spec": {"floors": {"cpu": "50m"}},
    }
    policy = policy_from_objects(cluster, namespaced)
    assert policy.hpaMode == "refuse"
    assert policy.floors == ResourceBounds(cpu="50m", memory="100Mi")
    assert policy_from_objects(None, None) == BUILTIN_POLICY


@pytest.mark.parametrize(
    "spec",
    [
        {"floors": {"cpu": "lots"}},
        {"floors": {"memory": "-1Gi"}},
        {"floors": {"cpu": "NaN"}},
        {"maxStep": {"cpu": {"maxIncreaseFactor": 0.5}}},
        {"maxStep": {"memory": {"maxDecreasePercent": 101}}},
        {"hpaMode": "ignore"},
        {"protectedNamespaces": ["Not_A_Namespace"]},
        {"unknownField": True},
    ],
)
def test_bad_policies_are_refused_with_a_message(spec) -> None:
    with pytest.raises(ValidationError):
        RecommendationPolicy.model_validate(
            {"metadata": {"name": "default", "namespace": "shop"}, "spec": spec}
        )


def test_an_invalid_policy_object_is_named_in_the_error() -> None:
    bad = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "RecommendationPolicy",
        "metadata": {"name": "default", "namespace": "shop"},
        "spec": {"floors": {"cpu": "lots"}},
    }
    with pytest.raises(PolicyError, match=r"RecommendationPolicy shop/default is invalid: spec\.floors\.cpu"):
        policy_from_objects(None, bad)
