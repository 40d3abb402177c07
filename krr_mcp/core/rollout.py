"""Pure: how far a workload's rollout got, from its status as the API server reports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from krr_mcp.api.workload_kinds import WORKLOAD_KINDS

RolloutPhase = Literal["progressing", "complete", "failed"]

# Condition reasons that mean the new pods will not become ready by themselves.
_FAILED_REASONS = {"ProgressDeadlineExceeded", "CrashLoopBackOff", "OOMKilled", "ReplicaFailure"}


# Container states that mean a new pod will not become ready by itself.
_POD_FAILURES = {
    "CrashLoopBackOff",
    "OOMKilled",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
}


@dataclass(frozen=True)
class RolloutState:
    """`observed`: the workload's controller has seen the wanted generation (before that, nothing of
    the change is rolled out: the pods still run the previous template)."""

    phase: RolloutPhase
    message: str
    observed: bool = True


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


def _after(timestamp: Any, since: datetime | None) -> bool:
    if since is None:
        return True
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")) >= since
    except ValueError:
        return False


def pod_failure(pods: list[dict[str, Any]], since: datetime | None = None) -> str | None:
    """Why the new pods (created at or after `since`) fail: OOMKilled, CrashLoopBackOff...; else None."""
    for pod in pods:
        meta = pod.get("metadata") or {}
        if not _after(meta.get("creationTimestamp"), since):
            continue
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            states = [container.get("state") or {}, container.get("lastState") or {}]
            for state in states:
                for detail in (state.get("waiting"), state.get("terminated")):
                    reason = (detail or {}).get("reason")
                    if reason in _POD_FAILURES:
                        return f"{reason}: pod {meta.get('name')} container {container.get('name')}"
    return None


def controller_caught_up(workload: dict[str, Any], min_generation: int | None = None) -> bool:
    """Whether the workload's controller has seen its current generation (and `min_generation`, the
    one our patch produced): before that, nothing of the change is rolled out."""
    generation = _int((workload.get("metadata") or {}).get("generation"), 0)
    observed = _int((workload.get("status") or {}).get("observedGeneration"), -1)
    return observed >= max(generation, min_generation or 0)


def rollout_state(
    workload: dict[str, Any],
    min_generation: int | None = None,
    pods: list[dict[str, Any]] | None = None,
    since: datetime | None = None,
) -> RolloutState:
    """Whether the workload's pods run its current template (`complete`), cannot (`failed`), or not yet.

    `min_generation` is the generation our patch produced: status about an older one means the
    controller has not seen the change yet (`observed` False: nothing of it is rolled out, and failure
    conditions are about an older template). `pods` (the workload's, when read) fail the rollout when
    one created since the change (`since`) is OOMKilled or crash-looping. CronJobs have no rollout:
    the next Job uses the template.
    """
    kind = workload.get("kind")
    meta = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    info = WORKLOAD_KINDS.get(str(kind))
    if info is not None and not info.rolls_out:
        return RolloutState("complete", f"{kind}: the next scheduled Job uses the new template")
    if not controller_caught_up(workload, min_generation):
        # Conditions are about an older generation, and no pod of the new template exists yet.
        wanted = max(_int(meta.get("generation"), 0), min_generation or 0)
        observed = _int(status.get("observedGeneration"), -1)
        return RolloutState(
            "progressing", f"waiting for the controller (observed {observed}, want {wanted})", observed=False
        )
    failure = _failed_condition(status) or pod_failure(pods or [], since)
    if failure:
        return RolloutState("failed", failure)
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
