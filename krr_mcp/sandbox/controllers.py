"""The sandbox's workload rollout "controller": after a Deployment, StatefulSet or DaemonSet changes its
generation, it advances the status the way the real controllers end up (observedGeneration, updated /
ready / available replicas, conditions), without pods.

The annotation `sandbox.krr-mcp.io/rollout: fail` on a workload's pod template makes its rollout fail:
readyReplicas stay where they were and, after `fail_after` seconds, the Progressing condition turns False
with reason ProgressDeadlineExceeded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from .operations import ApiError, Operations, WriteOptions, now_iso
from .resources import ResourceType

FAIL_ANNOTATION = "sandbox.krr-mcp.io/rollout"
MANAGER = "krr-mcp-sandbox-controller"
WORKLOADS = (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"))
DAEMONSET_NODES = 2


def template_hash(obj: dict[str, Any]) -> str:
    template = (obj.get("spec") or {}).get("template") or {}
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def wants_failure(obj: dict[str, Any]) -> bool:
    annotations = (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
        "annotations"
    ) or {}
    return annotations.get(FAIL_ANNOTATION) == "fail"


def _condition(type_: str, status: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    }


def _desired(obj: dict[str, Any]) -> int:
    if obj.get("kind") == "DaemonSet":
        return DAEMONSET_NODES
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    return replicas if isinstance(replicas, int) else 1


def _ready_counts(obj: dict[str, Any]) -> int:
    status = obj.get("status") or {}
    key = "numberReady" if obj.get("kind") == "DaemonSet" else "readyReplicas"
    return int(status.get(key) or 0)


def rollout_status(obj: dict[str, Any], phase: str, now: str) -> dict[str, Any]:
    """The status a workload shows in `phase`: "done", "progressing" (failing, not yet timed out) or
    "failed" (ProgressDeadlineExceeded). Pure."""
    desired = _desired(obj)
    generation = (obj.get("metadata") or {}).get("generation", 1)
    name = (obj.get("metadata") or {}).get("name", "")
    revision = f"{name}-{template_hash(obj)}"
    ready = desired if phase == "done" else min(_ready_counts(obj), desired)
    updated = desired if phase == "done" else min(1, desired)
    kind = obj.get("kind")
    if kind == "DaemonSet":
        status: dict[str, Any] = {
            "observedGeneration": generation,
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": desired,
            "updatedNumberScheduled": updated,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberMisscheduled": 0,
        }
        if desired - ready:
            status["numberUnavailable"] = desired - ready
    elif kind == "StatefulSet":
        status = {
            "observedGeneration": generation,
            "replicas": desired,
            "readyReplicas": ready,
            "currentReplicas": desired if phase == "done" else desired - updated,
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": revision
            if phase == "done"
            else (obj.get("status") or {}).get("currentRevision", revision),
            "updateRevision": revision,
            "collisionCount": 0,
        }
    else:
        status = {
            "observedGeneration": generation,
            "replicas": desired if phase == "done" else desired + (1 if desired else 0),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        if phase != "done" and desired:
            status["unavailableReplicas"] = max(0, desired + 1 - ready)
    conditions = []
    if kind == "Deployment":
        available = ready >= desired
        conditions.append(
            _condition(
                "Available",
                "True" if available else "False",
                "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
                now,
            )
        )
    if phase == "done":
        conditions.append(
            _condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{revision}" has successfully progressed.',
                now,
            )
        )
    elif phase == "progressing":
        conditions.append(
            _condition(
                "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{revision}" is progressing.', now
            )
        )
    else:
        conditions.append(
            _condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{revision}" has timed out progressing.',
                now,
            )
        )
    status["conditions"] = conditions
    return status


def next_phase(obj: dict[str, Any]) -> str | None:
    """What the controller does next with `obj`: None (nothing), "done", "progressing" or "failed"."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return None
    conditions = status.get("conditions") or []
    progressing: dict[str, Any] = next((c for c in conditions if c.get("type") == "Progressing"), {})
    if status.get("observedGeneration") != meta.get("generation"):
        return "progressing" if wants_failure(obj) else "done"
    if wants_failure(obj) and progressing.get("reason") == "ReplicaSetUpdated":
        return "failed"
    return None


class RolloutController:
    """Watches writes through Operations.after_write and schedules status updates on the loop."""

    def __init__(self, ops: Operations, delay: float = 0.2, fail_after: float = 1.0) -> None:
        self.ops = ops
        self.delay = delay
        self.fail_after = fail_after
        self._pending: dict[tuple[str, str, str, str], asyncio.TimerHandle] = {}
        self._active = False

    def start(self) -> None:
        self._active = True
        self.ops.after_write.append(self._on_write)

    def stop(self) -> None:
        self._active = False
        if self._on_write in self.ops.after_write:
            self.ops.after_write.remove(self._on_write)
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    def _on_write(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.storage_key not in WORKLOADS or not self._active:
            return
        phase = next_phase(obj)
        if phase is None:
            return
        meta = obj["metadata"]
        key = (*rt.storage_key, meta.get("namespace", ""), meta["name"])
        if key in self._pending:
            return
        delay = self.fail_after if phase == "failed" else self.delay
        loop = asyncio.get_running_loop()
        self._pending[key] = loop.call_later(delay, self._reconcile, rt, key)

    def _reconcile(self, rt: ResourceType, key: tuple[str, str, str, str]) -> None:
        self._pending.pop(key, None)
        obj = self.ops.store.get(rt.storage_key, key[2], key[3])
        if obj is None or not self._active:
            return
        phase = next_phase(obj)
        if phase is None:
            return
        updated = dict(obj, status=rollout_status(obj, phase, now_iso()))
        try:
            self.ops.replace(rt, key[2], key[3], updated, WriteOptions(field_manager=MANAGER), "status")
        except ApiError:
            return
