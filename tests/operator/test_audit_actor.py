"""The audit names who did a thing, never the approver in someone's place: a decision without an actor
of its own (following a rollout, waiting, refusing) is the operator's doing, in the log and the Events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from krr_operator.audit import Auditor

from krr_mcp.api.resource_recommendation import Phase
from krr_mcp.core.decisions import OPERATOR_ACTOR, Action, Decision
from krr_mcp.kube.client import Kube
from krr_mcp.sandbox.testing import SandboxHandle


def test_following_a_rollback_is_not_credited_to_the_approver(sandbox: SandboxHandle) -> None:
    rr: dict[str, Any] = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {"name": "web-rr", "namespace": "default", "uid": "rr-uid"},
        "spec": {
            "approved": True,
            "approvedBy": "alice",
            "rollbackRequested": True,
            "rollbackRequestedBy": "bob",
        },
    }
    followed = Decision(Action.FOLLOW_ROLLOUT, Phase.ROLLED_BACK, "RolloutComplete", "Deployment rolled out")
    with sandbox.api_client() as api:
        Auditor(Kube(api), lambda: datetime.now(UTC)).record(rr, followed, "Succeeded")
    events = sandbox.kubectl("get", "events", "-n", "default", "-o", "jsonpath={.items[*].message}").stdout
    assert f"actor {OPERATOR_ACTOR}" in events, events
    assert "alice" not in events, "the approver was named for the operator's own step"
