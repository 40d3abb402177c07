"""The reconciler's small pieces on their own: the per-RR locks, the pure status composer, the
write-ahead entry."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime

from krr_operator.locks import RRLocks
from krr_operator.status_patch import StatusPatch, compose_status_patch
from krr_operator.write_ahead import pending_entry

from krr_mcp.api.resource_recommendation import ContainerChange, Phase, SafetyReport
from krr_mcp.core.decisions import Action, Decision, DecisionInputs, decide

from ..builders import rr, workload

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SAFE = SafetyReport(allowed=True, risk="low")


def test_one_rr_at_a_time_and_other_rrs_meanwhile() -> None:
    locks = RRLocks()
    inside: list[str] = []
    overlap: list[bool] = []

    def hold(name: str) -> None:
        with locks.held("default", name):
            inside.append(name)
            overlap.append(inside.count(name) > 1)
            time.sleep(0.05)
            inside.remove(name)

    threads = [threading.Thread(target=hold, args=("a",)) for _ in range(3)]
    with locks.held("default", "a"):
        for thread in threads:
            thread.start()
        other = threading.Thread(target=hold, args=("b",))
        other.start()
        other.join(timeout=5)  # another RR's lock is free while "a" is held
        assert not other.is_alive()
        assert "a" not in inside  # nobody entered "a" while this thread held it
    for thread in threads:
        thread.join(timeout=5)
    assert overlap == [False] * 4


def test_the_status_patch_writes_only_what_it_has() -> None:
    assert StatusPatch().fields() == {}
    assert StatusPatch(cpuChange="", risk="low").fields() == {"cpuChange": "", "risk": "low"}


def test_composing_reads_the_rr_and_changes_nothing_of_it() -> None:
    body = rr(approved=True)
    body["status"] = {
        "phase": "Applying",
        "history": [
            {
                "action": "apply",
                "outcome": "Succeeded",
                "at": "2026-11-25T11:00:00Z",
                "actor": "a",
                "containers": [],
            }
        ],
    }
    before = copy.deepcopy(body)
    seen = Decision(Action.FOLLOW_ROLLOUT, Phase.APPLYING, "RolloutProgressing", "m", rollout_observed_at=NOW)
    patch = compose_status_patch(body, workload(), seen, NOW, report=SAFE, superseded_by="newer")
    assert body == before
    assert patch.history is not None and patch.history[-1]["rolloutObservedAt"] == "2026-11-25T12:00:00Z"
    assert patch.supersededBy is None  # only a supersede records the newer RR
    assert patch.approvedAt == "2026-11-25T12:00:00Z" and patch.approval is not None
    assert (patch.risk, patch.containerNames) == ("low", "app")
    recorded = dict(body, status={**body["status"], "approvedAt": "x", "approval": patch.approval})
    again = compose_status_patch(recorded, workload(), seen, NOW)
    assert again.approvedAt is None and again.approval is None  # recorded once, never again


def test_the_pending_entry_holds_the_prior_resources_of_that_workload() -> None:
    live = workload()
    decision = decide(DecisionInputs(rr(approved=True), live, NOW, safety=SAFE))
    assert decision.changes_workload
    entry = pending_entry(decision, live, NOW)
    assert entry["outcome"] == "Pending" and entry["action"] == "apply" and entry["actor"] == "alice"
    assert entry["workloadUid"] == live["metadata"]["uid"]
    (change,) = decision.changes
    assert entry["containers"] == [ContainerChange.model_validate(change).model_dump(mode="json")]
    assert entry["containers"][0]["before"] == change.before
