"""Rules on the workload and its surroundings: protection and opt-out, GitOps, HPAs, QoS class,
single replica, PodDisruptionBudgets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from krr_mcp.api.policy import HpaMode, PolicySpec
from krr_mcp.api.resource_recommendation import RiskLevel

from .findings import Findings
from .gitops import gitops_controller
from .resources import RESOURCES, Amounts
from .workload import metadata_annotations, metadata_labels, pod_labels, selector_matches


def check_protection(
    workload: dict[str, Any],
    namespace: str,
    namespace_obj: dict[str, Any] | None,
    policy: PolicySpec,
    out: Findings,
) -> None:
    """Protected namespaces and the opt-out key (label or annotation, value "true") are refused."""
    if namespace in (policy.protectedNamespaces or []):
        out.refuse("protected-namespace", f"namespace {namespace} is protected by the policy")
    key = policy.optOutKey
    if not key:
        return
    for what, obj in (("workload", workload), (f"namespace {namespace}", namespace_obj)):
        for where, values in (("label", metadata_labels(obj)), ("annotation", metadata_annotations(obj))):
            if str(values.get(key, "")).lower() == "true":
                out.refuse("opt-out", f'the {what} opted out with {where} {key}: "true"')


def check_gitops(workload: dict[str, Any], out: Findings) -> None:
    controller = gitops_controller(workload)
    if controller:
        out.warn(
            "gitops",
            f"managed by {controller}: the controller will revert a live change; commit the patch "
            "(render_gitops_patch / the preview's gitopsPatch) to the source repository instead",
            risk=RiskLevel.MEDIUM,
        )


def _hpa_targets(hpa: Mapping[str, Any], workload: Mapping[str, Any]) -> bool:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return ref.get("kind") == workload.get("kind") and ref.get("name") == (
        workload.get("metadata") or {}
    ).get("name")


def _hpa_resource_metrics(hpa: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
    """(resource, container or None for the whole pod, target type) for each resource metric."""
    spec = hpa.get("spec") or {}
    metrics: list[tuple[str, str | None, str]] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
        metrics.append(("cpu", None, "Utilization"))
    for metric in spec.get("metrics") or []:
        if metric.get("type") == "Resource":
            source = metric.get("resource") or {}
            metrics.append((source.get("name", ""), None, (source.get("target") or {}).get("type", "")))
        elif metric.get("type") == "ContainerResource":
            source = metric.get("containerResource") or {}
            metrics.append(
                (
                    source.get("name", ""),
                    source.get("container"),
                    (source.get("target") or {}).get("type", ""),
                )
            )
    return metrics


def check_hpas(
    workload: dict[str, Any],
    request_changes: Mapping[str, set[str]],
    hpas: Sequence[Mapping[str, Any]],
    policy: PolicySpec,
    out: Findings,
) -> None:
    """An HPA scaling this workload on a utilization of a resource whose request changes moves its target.

    `request_changes` maps resource -> names of the containers whose effective request changes.
    """
    for hpa in hpas:
        if not _hpa_targets(hpa, workload):
            continue
        hpa_name = (hpa.get("metadata") or {}).get("name", "?")
        for resource, container, target_type in _hpa_resource_metrics(hpa):
            changed = request_changes.get(resource, set())
            if container is not None:
                changed = changed & {container}
            if not changed:
                continue
            scope = f"container {container}" if container else "the pod"
            if target_type != "Utilization":
                out.info(
                    "hpa",
                    f"HPA {hpa_name} scales on {resource} {target_type} of {scope}; the request change does "
                    "not move that target",
                )
                continue
            message = (
                f"HPA {hpa_name} scales on {resource} utilization of {scope}, a percentage of the request; "
                f"changing requests.{resource} of {', '.join(sorted(changed))} changes when it scales"
            )
            if policy.hpaMode == HpaMode.REFUSE:
                out.refuse("hpa", message)
            else:
                out.warn("hpa", message, risk=RiskLevel.MEDIUM)


def check_qos(before: str, after: str, out: Findings) -> None:
    if before != after:
        risk = RiskLevel.HIGH if after == "BestEffort" else RiskLevel.MEDIUM
        out.warn(
            "qos",
            f"pod QoS class changes {before} -> {after} (changes eviction order under node pressure)",
            risk=risk,
        )


def check_replicas(workload: dict[str, Any], replicas: int, out: Findings) -> None:
    kind = workload.get("kind")
    if kind in {"Deployment", "StatefulSet"} and replicas == 1:
        out.warn("single-replica", "single replica: the rollout restarts the only pod", risk=RiskLevel.MEDIUM)
    elif kind in {"Deployment", "StatefulSet"} and replicas == 0:
        out.info("single-replica", "scaled to zero: the change takes effect when it scales up")


def check_pdbs(workload: dict[str, Any], pdbs: Sequence[Mapping[str, Any]], out: Findings) -> None:
    """Report the PDBs covering the pods (a rollout does not go through the eviction API, so a PDB does
    not hold it back, but it states how much disruption the owners accept)."""
    labels = pod_labels(workload)
    for pdb in pdbs:
        spec = pdb.get("spec") or {}
        if not selector_matches(spec.get("selector"), labels):
            continue
        name = (pdb.get("metadata") or {}).get("name", "?")
        bound = " ".join(f"{k}={spec[k]}" for k in ("minAvailable", "maxUnavailable") if k in spec)
        allowed = (pdb.get("status") or {}).get("disruptionsAllowed")
        if allowed == 0:
            out.warn(
                "pdb",
                f"PodDisruptionBudget {name} ({bound}) allows no disruption now; "
                "the rollout replaces pods anyway",
                risk=RiskLevel.MEDIUM,
            )
        else:
            out.info("pdb", f"PodDisruptionBudget {name} ({bound}) covers these pods")


def request_changes(before: Mapping[str, Amounts], after: Mapping[str, Amounts]) -> dict[str, set[str]]:
    """resource -> containers whose effective request differs between before and after."""
    changes: dict[str, set[str]] = {r: set() for r in RESOURCES}
    for name, new in after.items():
        old = before.get(name, Amounts())
        for resource in RESOURCES:
            if old.get("requests", resource) != new.get("requests", resource):
                changes[resource].add(name)
    return changes
