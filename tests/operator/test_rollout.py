"""Rollout state per kind, from workload status."""

from __future__ import annotations

from typing import Any

import pytest
from krr_operator.rollout import rollout_state
from operator_builders import workload


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
