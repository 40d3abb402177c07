"""Pure: how far a workload's rollout got, from its status as the API server reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

RolloutPhase = Literal["progressing", "complete", "failed"]

# Condition reasons that mean the new pods will not become ready by themselves.
_FAILED_REASONS = {"ProgressDeadlineExceeded", "CrashLoopBackOff", "OOMKilled", "ReplicaFailure"}


@dataclass(frozen=True)
class RolloutState:
    phase: RolloutPhase
    message: str


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _failed_condition(status: dict[str, Any]) -> str | None:
    """The failure a condition reports (Deployment's ProgressDeadlineExceeded, ReplicaFailure...)."""
    for condition in status.get("conditions") or []:
        reason = condition.get("reason") or ""
        failed_type = condition.get("type") == "ReplicaFailure" and condition.get("status") == "True"
        if reason in _FAILED_REASONS or failed_type:
            return f"{reason or 'ReplicaFailure'}: {condition.get('message') or 'rollout failed'}"
    return None


def rollout_state(workload: dict[str, Any], min_generation: int | None = None) -> RolloutState:
    """Whether the workload's pods run its current template (`complete`), cannot (`failed`), or not yet.

    `min_generation` is the generation our patch produced: status about an older one means the
    controller has not seen the change yet. CronJobs have no rollout: the next Job uses the template.
    """
    kind = workload.get("kind")
    meta = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    if kind == "CronJob":
        return RolloutState("complete", "CronJob: the next scheduled Job uses the new template")
    generation = _int(meta.get("generation"), 0)
    wanted_generation = max(generation, min_generation or 0)
    failure = _failed_condition(status)
    if failure:
        return RolloutState("failed", failure)
    observed = _int(status.get("observedGeneration"), -1)
    if observed < wanted_generation:
        return RolloutState(
            "progressing", f"waiting for the controller (observed {observed}, want {wanted_generation})"
        )
    if kind == "DaemonSet":
        desired = _int(status.get("desiredNumberScheduled"))
        updated = _int(status.get("updatedNumberScheduled"))
        available = _int(status.get("numberAvailable"))
        done = updated >= desired and available >= desired
        counts = f"{updated}/{desired} updated, {available}/{desired} available"
    else:
        desired = _int(spec.get("replicas"), 1)
        updated = _int(status.get("updatedReplicas"))
        ready = _int(status.get("readyReplicas"))
        available = _int(status.get("availableReplicas"), ready)
        total = _int(status.get("replicas"), updated)
        done = updated >= desired and ready >= desired and available >= desired and total <= desired
        if kind == "StatefulSet" and status.get("updateRevision"):
            done = done and status.get("currentRevision") == status.get("updateRevision")
        counts = f"{updated}/{desired} updated, {ready}/{desired} ready"
    if done:
        return RolloutState("complete", f"{kind} rolled out: {counts}")
    return RolloutState("progressing", f"{kind} rolling out: {counts}")
