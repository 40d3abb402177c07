"""`evaluate`: run every safety rule over one proposal and collect the SafetyReport."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from krr_mcp.api.policy import PolicySpec, effective_policy
from krr_mcp.api.quantities import QuantityError
from krr_mcp.api.resource_recommendation import ResourceRecommendationSpec, SafetyReport

from .container_rules import ContainerDelta, check_container
from .context import ClusterContext
from .findings import Findings
from .namespace_rules import check_limit_ranges, check_pod_limit_ranges, check_quotas, surge_pods
from .resources import Amounts, amounts_of, container_limit_items, effective, qos_class
from .workload import containers, init_containers, namespace_of, replicas
from .workload_rules import (
    check_gitops,
    check_hpas,
    check_pdbs,
    check_protection,
    check_qos,
    check_replicas,
    request_changes,
)


def _target_problem(spec: ResourceRecommendationSpec, workload: dict[str, Any]) -> str | None:
    kind, name = workload.get("kind"), (workload.get("metadata") or {}).get("name")
    if kind != spec.target.kind or name != spec.target.name:
        return (
            f"the workload is {kind}/{name}, the recommendation targets {spec.target.kind}/{spec.target.name}"
        )
    return None


def evaluate(
    spec: ResourceRecommendationSpec,
    workload: dict[str, Any],
    context: ClusterContext,
    policy: PolicySpec,
    now: datetime,
) -> SafetyReport:
    """Every rule's verdict on applying `spec` to the live `workload`; `allowed` is false on any refusal.

    `policy` is the effective policy (`effective_policy`/`policy_from_objects`); fields it leaves unset
    take the built-in defaults. The report's last finding (rule `risk`) names the risk level and the
    reasons for it. Pure: same inputs, same report (`now` only stamps `checkedAt`).
    """
    policy = effective_policy(policy)
    out = Findings()
    problem = _target_problem(spec, workload)
    if problem:
        out.refuse("target", problem)
        return out.report(now)
    namespace = namespace_of(workload, context.namespace)
    check_protection(workload, namespace, context.namespace, policy, out)
    check_gitops(workload, out)
    try:
        _check_resources(spec, workload, context, policy, out)
    except QuantityError as exc:
        out.refuse("quantity", f"a quantity in the workload or its LimitRanges cannot be read: {exc}")
    return out.report(now)


def _check_resources(
    spec: ResourceRecommendationSpec,
    workload: dict[str, Any],
    context: ClusterContext,
    policy: PolicySpec,
    out: Findings,
) -> None:
    limit_items = container_limit_items(context.limit_ranges)
    live = {str(c.get("name")): amounts_of(c.get("resources")) for c in containers(workload)}
    init = [effective(amounts_of(c.get("resources")), limit_items) for c in init_containers(workload)]
    proposed: dict[str, Amounts] = {}
    for container in spec.containers:
        if container.name not in live:
            out.refuse(
                "container", f"the workload has no container named {container.name}", container=container.name
            )
            continue
        proposed[container.name] = amounts_of(container.proposed)
        check_container(
            ContainerDelta(container.name, live[container.name], proposed[container.name], container.usage),
            policy,
            out,
        )
    before = {name: effective(amounts, limit_items) for name, amounts in live.items()}
    after = {**before, **{name: effective(a, limit_items) for name, a in proposed.items()}}
    for name in proposed:
        check_limit_ranges(name, after[name], limit_items, out)
    if proposed:
        check_pod_limit_ranges(list(after.values()), context.limit_ranges, out)
    count = replicas(workload)
    check_quotas(
        list(before.values()),
        list(after.values()),
        init,
        count,
        surge_pods(workload, count),
        context.resource_quotas,
        out,
    )
    check_qos(qos_class([*before.values(), *init]), qos_class([*after.values(), *init]), out)
    check_hpas(workload, request_changes(before, after), context.hpas, policy, out)
    check_replicas(workload, count, out)
    check_pdbs(workload, context.pdbs, out)
