"""Stateful property: whatever humans, the bridge, the API server and crashes do, in any order, the
operator never changes a workload without a human's approval, records every change before making it,
restores exactly on rollback and never applies anything twice.

The operator's reconcile logic runs synchronously (`handlers.run_once`, what every kopf handler calls)
over real HTTP against the sandbox API server, through `FaultyKube` (API errors, timeouts, lost answers).
kopf's delivery is modelled explicitly: a set of pending watch events (lost when the watch drops), timer
ticks for active RRs, and a restart that re-lists everything (kopf's resume handler).
"""

from __future__ import annotations

import copy
import itertools
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from krr_operator.handlers import FOLLOWED_PHASES, WAITING_PHASES, run_once
from krr_operator.reconcile import Reconciler

from krr_mcp.core.workloads import same_cpu_memory
from krr_mcp.kube.client import rr_path, workload_path
from krr_mcp.sandbox.handle import SandboxHandle

from .. import builders
from ..builders import settings_without_admission
from .conftest import profile
from .faults import FAULT_KINDS, Change, FaultyKube, app_resources
from .world import (
    BRIDGE_MANAGER,
    BRIDGE_PROPOSAL,
    HUMAN_EDITS,
    HUMAN_MANAGER,
    ORIGINAL,
    PROPOSALS,
    Actor,
    Refused,
    deployment,
)

RR_NAMES = ("r0", "r1", "r2")
WORKLOADS = ("w0", "w1")
APPROVERS = ("alice", "bob")
COUNTER = itertools.count()
SEEN: Counter[str] = Counter()  # what the examples exercised, printed by the test


class Crash(BaseException):
    """The operator process dies (not an Exception: no handler code catches it)."""


class OperatorWorld(RuleBasedStateMachine):
    sandbox: SandboxHandle

    def __init__(self) -> None:
        super().__init__()
        self.ns = f"prop-{next(COUNTER)}"
        self.api = self.sandbox.api_client()
        self.sandbox.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.ns}})
        self.sandbox.apply(*[deployment(self.ns, w) for w in WORKLOADS])
        self.human = Actor(self.sandbox, self.api, HUMAN_MANAGER)
        self.bridge = Actor(self.sandbox, self.api, BRIDGE_MANAGER)
        self.clock = datetime.now(UTC)
        self.changes: list[Change] = []
        self.human_changes: list[Change] = []
        self.deleted_uids: set[str] = set()
        self.kube = self._operator()
        self.events: set[str] = set()
        self.rrs: dict[str, str] = {}  # name -> uid of the RRs that exist
        self.targets: dict[str, str] = {}  # uid -> workload
        self.approver: dict[str, str] = {}  # uid -> the human who approved (not the bridge)
        self.legal: dict[str, list[dict[str, Any]]] = {w: [copy.deepcopy(ORIGINAL)] for w in WORKLOADS}
        self.histories: dict[str, list[dict[str, Any]]] = {}  # uid -> history as last seen
        self.workloads_present = set(WORKLOADS)

    def teardown(self) -> None:
        for history in self.histories.values():
            for entry in history:
                SEEN[f"history {entry['action']} {entry['outcome']}"] += 1
        for fault in self.kube.injected:
            SEEN[f"fault {fault.split(' on ')[0]}"] += 1
        self.human.delete(f"/api/v1/namespaces/{self.ns}")
        self.api.close()

    # -- the operator ----------------------------------------------------------------------------
    def _operator(self, crash_at: str | None = None) -> FaultyKube:
        """A fresh operator process: its own client and Reconciler (nothing kept from the last one)."""
        old = getattr(self, "kube", None)
        if old is not None:
            self.changes.extend(old.changes)
        kube = FaultyKube(self.api)

        def hook(stage: str, rr: dict[str, Any]) -> None:
            if stage == crash_at:
                raise Crash(stage)

        self.reconciler = Reconciler(kube, settings_without_admission(hook=hook, now=lambda: self.clock))
        return kube

    def _run(self, name: str) -> bool:
        """One handler call for RR `name`, as kopf makes it; True when kopf would retry it."""
        try:
            run_once(self.reconciler, self.ns, name)
        except kopf.TemporaryError:
            return True
        except kopf.PermanentError:
            return False
        return False

    @rule()
    def operator_handles_events(self) -> None:
        for name in sorted(self.events):
            if not self._run(name):
                self.events.discard(name)

    @rule()
    def operator_handles_events_again(self) -> None:
        """(A second rule for the same thing: the operator acts about as often as everybody else.)"""
        self.operator_handles_events()

    @rule()
    def timer_ticks(self) -> None:
        """kopf's timers: one handler call per RR in an active phase (kopf's own listing: no faults)."""
        for rr in self.human.kube.list_rrs(self.ns):
            if (rr.get("status") or {}).get("phase") in FOLLOWED_PHASES | WAITING_PHASES:
                self._run(rr["metadata"]["name"])

    @rule()
    def watch_drops(self) -> None:
        """Events in flight are lost; only timers and a later re-list find the RRs again."""
        self.events.clear()

    @rule()
    def operator_restarts(self) -> None:
        self.kube = self._operator()
        self.events = set(self.rrs)

    @rule(stage=st.sampled_from(["snapshot-stored", "workload-patched"]), name=st.sampled_from(RR_NAMES))
    def operator_crashes_mid_change(self, stage: str, name: str) -> None:
        """The operator dies at `stage` of a change of `name` (if it makes one now), then restarts."""
        self.kube = self._operator(crash_at=stage)
        try:
            if name in self.rrs:
                self._run(name)
        except Crash:
            pass
        self.kube = self._operator()
        self.events = set(self.rrs)

    @rule(fault=st.sampled_from(FAULT_KINDS), after=st.integers(0, 12))
    def api_fails(self, fault: str, after: int) -> None:
        self.kube.arm(fault, after)

    @rule(seconds=st.sampled_from([5, 60, 700]))
    def time_passes(self, seconds: int) -> None:
        self.clock += timedelta(seconds=seconds)

    # -- humans and the bridge -------------------------------------------------------------------
    @initialize()
    def first_proposals(self) -> None:
        """One approved proposal per run (so applies and rollbacks happen often), one waiting."""
        self.bridge_proposes("r0", "w0", PROPOSALS[0])
        self.human_approves("r0", "alice")
        self.bridge_proposes("r1", "w1", PROPOSALS[1])

    @rule(
        name=st.sampled_from(RR_NAMES),
        workload=st.sampled_from(WORKLOADS),
        proposal=st.sampled_from(PROPOSALS),
    )
    def bridge_proposes(self, name: str, workload: str, proposal: dict[str, Any]) -> None:
        if name in self.rrs:
            return
        live = app_resources(self.human.kube.get_workload(self.ns, "Deployment", workload)) or ORIGINAL
        created = self.bridge.create_rr(
            builders.manifest(
                builders.rr(
                    name,
                    namespace=self.ns,
                    target=workload,
                    containers=[builders.change("app", live, proposal)],
                    **BRIDGE_PROPOSAL,
                )
            )
        )
        uid = created["metadata"]["uid"]
        self.rrs[name] = uid
        self.targets[uid] = workload
        self.events.add(name)

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES), proposal=st.sampled_from(PROPOSALS))
    def bridge_edits(self, name: str, proposal: dict[str, Any]) -> None:
        self._spec(self.bridge, name, {"containers": [self._container(name, proposal)]})

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES))
    def bridge_tries_to_approve(self, name: str) -> None:
        """The hostile path: the assistant's bridge sets approved itself (admission would stop it; the
        operator's provenance check must too)."""
        self._spec(self.bridge, name, {"approved": True, "approvedBy": "alice"})

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES), who=st.sampled_from(APPROVERS))
    def human_approves(self, name: str, who: str) -> None:
        current = self._get(name)
        if current is None or current["spec"].get("approved"):
            return
        if self._spec(self.human, name, {"approved": True, "approvedBy": who}):
            uid = self.rrs[name]
            self.approver[uid] = who
            self.legal[self.targets[uid]].append(copy.deepcopy(current["spec"]["containers"][0]["proposed"]))

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES))
    def human_tries_to_unapprove(self, name: str) -> None:
        before = self._get(name)
        accepted = self._spec(self.human, name, {"approved": False})
        if before is not None and before["spec"].get("approved"):
            assert not accepted, "approval was withdrawn"

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES))
    def human_rejects(self, name: str) -> None:
        self._spec(self.human, name, {"rejected": True})

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES))
    def human_requests_rollback(self, name: str) -> None:
        self._spec(self.human, name, {"rollbackRequested": True, "rollbackRequestedBy": "bob"})

    @precondition(lambda self: bool(self.rrs))
    @rule(name=st.sampled_from(RR_NAMES))
    def human_deletes_rr(self, name: str) -> None:
        if name in self.rrs:
            self.human.delete(rr_path(self.ns, name))
            del self.rrs[name]
            self.events.discard(name)

    @rule(workload=st.sampled_from(WORKLOADS), resources=st.sampled_from(HUMAN_EDITS))
    def human_edits_workload(self, workload: str, resources: dict[str, Any]) -> None:
        if workload in self.workloads_present:
            self.legal[workload].append(copy.deepcopy(resources))
            live = app_resources(self.human.kube.get_workload(self.ns, "Deployment", workload)) or {}
            self.human.set_resources(self.ns, workload, resources)
            self.human_changes.append(Change(self.ns, workload, live, copy.deepcopy(resources)))

    @rule(workload=st.sampled_from(WORKLOADS))
    def human_deletes_workload(self, workload: str) -> None:
        if workload in self.workloads_present:
            live = self.human.kube.get_workload(self.ns, "Deployment", workload) or {"metadata": {}}
            self.deleted_uids.add(str(live["metadata"].get("uid", "")))
            self.human.delete(workload_path(self.ns, "Deployment", workload))
            self.workloads_present.discard(workload)

    @precondition(lambda self: len(self.workloads_present) < len(WORKLOADS))
    @rule()
    def human_recreates_workloads(self) -> None:
        for target in set(WORKLOADS) - self.workloads_present:
            self.sandbox.apply(deployment(self.ns, target))
            self.workloads_present.add(target)

    @rule(workload=st.sampled_from(WORKLOADS), phase=st.sampled_from(["done", "done", "failed"]))
    def rollout_finishes(self, workload: str, phase: str) -> None:
        self.human.rollout(self.ns, workload, phase)

    # -- helpers ---------------------------------------------------------------------------------
    def _get(self, name: str) -> dict[str, Any] | None:
        return self.human.kube.get_rr(self.ns, name) if name in self.rrs else None

    def _container(self, name: str, proposal: dict[str, Any]) -> dict[str, Any]:
        rr = self._get(name)
        current = rr["spec"]["containers"][0]["current"] if rr else ORIGINAL
        return {"name": "app", "current": current, "proposed": proposal}

    def _spec(self, actor: Actor, name: str, spec: dict[str, Any]) -> bool:
        """Patch an RR's spec as `actor`; False when it does not exist or the API server refuses."""
        if name not in self.rrs:
            return False
        try:
            actor.patch_rr_spec(self.ns, name, spec)
        except Refused:
            return False
        self.events.add(name)
        return True

    # -- invariants ------------------------------------------------------------------------------
    def _observe(self) -> list[Change]:
        """Record every RR's history (append-only) and return all workload changes made so far."""
        for rr in self.human.kube.list_rrs(self.ns):
            uid = rr["metadata"]["uid"]
            history = (rr.get("status") or {}).get("history") or []
            seen = self.histories.get(uid, [])
            assert len(history) >= len(seen), f"history shrank: {seen} -> {history}"
            for old, new in zip(seen, history, strict=False):
                for key in ("action", "at", "actor", "containers", "workloadResourceVersionBefore"):
                    assert old.get(key) == new.get(key), f"history entry rewritten: {old} -> {new}"
                if old["outcome"] != "Pending":
                    assert new["outcome"] == old["outcome"], f"settled outcome changed: {old} -> {new}"
            self.histories[uid] = copy.deepcopy(history)
        return [*self.changes, *self.kube.changes]

    @invariant()
    def promises_hold(self) -> None:
        changes = self._observe()
        # 1. Workloads only hold the original, a human's edit or what an approved RR asked for.
        for target in self.workloads_present:
            live = app_resources(self.human.kube.get_workload(self.ns, "Deployment", target))
            assert live is not None
            assert any(same_cpu_memory(live, ok) for ok in self.legal[target]), (
                f"{target} holds {live}, which nobody approved (legal: {self.legal[target]})"
            )
        # 2. Every change the operator made has its history entry (approver, exact prior snapshot),
        #    one entry per change: nothing applied twice.
        used: set[tuple[str, int]] = set()
        for change in changes:
            match = None
            # Unknown: interrupted, then the workload was deleted (or replaced) before the outcome could be
            # read; it stands for a change only on a workload that was deleted.
            recorded = ("Pending", "Succeeded") + (("Unknown",) if change.uid in self.deleted_uids else ())
            for uid, history in self.histories.items():
                if self.targets.get(uid) != change.name:
                    continue
                for index, entry in enumerate(history):
                    if (uid, index) in used or entry["outcome"] not in recorded:
                        continue
                    (c,) = entry["containers"]
                    if c["before"] == change.before and same_cpu_memory(c["after"], change.after):
                        match = (uid, index)
                        break
                if match:
                    break
            assert match is not None, f"a change without its history entry: {change}"
            used.add(match)
            uid, index = match
            entry = self.histories[uid][index]
            if entry["action"] == "apply":
                assert entry["actor"] == self.approver.get(uid), (
                    f"applied without a human's approval: {entry} (approved by {self.approver.get(uid)})"
                )
            else:
                assert entry["actor"], entry
        for uid, history in self.histories.items():
            succeeded = [i for i, e in enumerate(history) if e["outcome"] == "Succeeded"]
            for i in succeeded:
                assert (uid, i) in used, f"Succeeded without a change: {history}"
            applies = [history[i] for i in succeeded if history[i]["action"] == "apply"]
            assert len(applies) <= 1, f"applied twice: {history}"
            for i, entry in enumerate(history):
                if entry["outcome"] == "Unknown":
                    SEEN[f"{entry['action']} Unknown after the workload was deleted"] += 1
                    assert entry.get("workloadUid") in self.deleted_uids, (
                        f"Unknown, nothing deleted: {history}"
                    )
                    later = [
                        e for e in history[i + 1 :] if e["action"] == "apply" and e["outcome"] == "Succeeded"
                    ]
                    assert not later, f"applied again after an Unknown outcome: {history}"
            # 3. A rollback restores the exact prior value.
            rollbacks = [history[i] for i in succeeded if history[i]["action"] != "apply"]
            for rollback in rollbacks:
                assert applies, f"a rollback without an apply: {history}"
                assert rollback["containers"][0]["after"] == applies[0]["containers"][0]["before"], history


@pytest.mark.timeout(7200 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 240)
def test_no_change_without_approval_under_any_sequence(quiet_sandbox: SandboxHandle) -> None:
    OperatorWorld.sandbox = quiet_sandbox
    SEEN.clear()
    run_state_machine_as_test(OperatorWorld, settings=profile())
    print("exercised:", dict(sorted(SEEN.items())))
