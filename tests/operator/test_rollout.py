"""Rollout state per kind, from workload status."""

from __future__ import annotations

from typing import Any

import pytest

from krr_mcp.core.rollout import rollout_state

from ..builders import workload


def _with(kind: str, generation: int = 2, **status: Any) -> dict[str, Any]:
    obj = workload(kind, generation=generation)
    obj.setdefault("status", {}).update(status)
    return obj


@pytest.mark.parametrize(
    ("obj", "min_generation", "phase"),
    [
        (_with("Deployment"), None, "complete"),
        (_with("Deployment", observedGeneration=1), None, "progressing"),
        (_with("Deployment"), 3, "progressing"),
        (_with("Deployment", updatedReplicas=1), None, "progressing"),
        (_with("Deployment", replicas=3), None, "progressing"),
        (_with("Deployment", availableReplicas=1), None, "progressing"),
        (
            _with(
                "Deployment",
                conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            ),
            None,
            "failed",
        ),
        (
            _with(
                "Deployment",
                conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}],
            ),
            None,
            "failed",
        ),
        (
            _with(
                "Deployment",
                conditions=[{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
            ),
            None,
            "complete",
        ),
        (_with("StatefulSet", currentRevision="a", updateRevision="a"), None, "complete"),
        (_with("StatefulSet", currentRevision="a", updateRevision="b"), None, "progressing"),
        (_with("StatefulSet", readyReplicas=1), None, "progressing"),
        (_with("DaemonSet"), None, "complete"),
        (_with("DaemonSet", updatedNumberScheduled=2), None, "progressing"),
        (_with("DaemonSet", numberAvailable=2), None, "progressing"),
        (workload("CronJob"), 5, "complete"),
    ],
)
def test_rollout_state(obj: dict[str, Any], min_generation: int | None, phase: str) -> None:
    state = rollout_state(obj, min_generation)
    assert state.phase == phase, state.message
    assert state.message


def test_no_status_yet_is_progressing() -> None:
    obj = workload("Deployment")
    del obj["status"]
    assert rollout_state(obj).phase == "progressing"


def _pod(name: str, created: str, **container_status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "status": {"containerStatuses": [{"name": "app", **container_status}]},
    }


SINCE = "2026-11-25T10:00:00Z"


@pytest.mark.parametrize(
    ("pods", "failed"),
    [
        ([_pod("new", "2026-11-25T10:00:05Z", state={"running": {}})], False),
        ([_pod("new", "2026-11-25T10:00:05Z", state={"waiting": {"reason": "CrashLoopBackOff"}})], True),
        ([_pod("new", "2026-11-25T10:00:05Z", lastState={"terminated": {"reason": "OOMKilled"}})], True),
        ([_pod("old", "2026-11-25T09:00:00Z", lastState={"terminated": {"reason": "OOMKilled"}})], False),
        ([_pod("new", "2026-11-25T10:00:05Z", lastState={"terminated": {"reason": "Completed"}})], False),
    ],
)
def test_new_pods_that_crash_or_oom_fail_the_rollout(pods: list[dict[str, Any]], failed: bool) -> None:
    from datetime import datetime

    since = datetime.fromisoformat(SINCE.replace("Z", "+00:00"))
    progressing = _with("Deployment", updatedReplicas=1)
    state = rollout_state(progressing, None, pods, since)
    assert (state.phase == "failed") is failed, state.message
    if failed:
        assert "pod new" in state.message
