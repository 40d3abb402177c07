"""The real operator (kopf, over HTTP through a fault-injecting proxy) killed at every step of an apply,
cut off from the API server, its watches cut or expired (410): it recovers, applies exactly once, misses
no approval, and leaves a complete audit trail."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from krr_operator.kube import rr_path
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.handle import SandboxHandle

from ..operator.operator_harness import CrashAt, OperatorThread, wait_for
from .faults import app_resources
from .proxy import FaultProxy
from .world import BRIDGE_MANAGER, HUMAN_MANAGER, ORIGINAL, PROPOSALS, Actor, deployment, rr_body

PROPOSED = PROPOSALS[0]
NS = "default"


@dataclasses.dataclass
class Scene:
    sandbox: SandboxHandle
    proxy: FaultProxy
    cfg: OperatorConfig
    human: Actor
    bridge: Actor

    def workload(self, name: str = "web") -> dict[str, Any]:
        live = self.human.kube.get_workload(NS, "Deployment", name)
        assert live is not None
        return live

    def rr(self, name: str = "web-rr") -> dict[str, Any]:
        found = self.human.kube.get_rr(NS, name)
        assert found is not None
        return found

    def propose(self, name: str = "web-rr", target: str = "web") -> None:
        self.bridge.create_rr(rr_body(NS, name, target, ORIGINAL, PROPOSED))

    def approve(self, name: str = "web-rr", who: str = "alice") -> None:
        self.human.patch_rr_spec(NS, name, {"approved": True, "approvedBy": who})

    def settle(
        self, phase: str, name: str = "web-rr", target: str = "web", timeout: float = 20
    ) -> dict[str, Any]:
        """Wait for `phase`, playing the Deployment controller (rollouts complete) meanwhile."""

        def probe() -> dict[str, Any] | None:
            live = self.workload(target)
            if (live.get("status") or {}).get("observedGeneration") != live["metadata"]["generation"]:
                self.human.rollout(NS, target, "done")
            rr = self.rr(name)
            return rr if (rr.get("status") or {}).get("phase") == phase else None

        return wait_for(f"{name} {phase}", probe, timeout=timeout)

    def start(self, **changes: Any) -> OperatorThread:
        return OperatorThread(dataclasses.replace(self.cfg, halted=threading.Event(), **changes)).start()


@pytest.fixture
def scene(proxied_sandbox: tuple[SandboxHandle, FaultProxy, str]) -> Iterator[Scene]:
    sandbox, proxy, kubeconfig = proxied_sandbox
    sandbox.apply(deployment(NS, "web"))
    with sandbox.api_client() as api:
        cfg = OperatorConfig(kubeconfig=kubeconfig, poll_interval=0.3, watch_timeout=5)
        yield Scene(
            sandbox, proxy, cfg, Actor(sandbox, api, HUMAN_MANAGER), Actor(sandbox, api, BRIDGE_MANAGER)
        )


def assert_applied_once_with_full_audit(scene: Scene, rr: dict[str, Any]) -> None:
    history = rr["status"]["history"]
    assert not [h for h in history if h["outcome"] == "Pending"], history
    succeeded = [h for h in history if h["outcome"] == "Succeeded"]
    assert [h["action"] for h in succeeded] == ["apply"], history
    for entry in history:
        assert entry["actor"] == "alice" and entry["at"], entry
        assert entry["containers"] == [{"name": "app", "before": ORIGINAL, "after": PROPOSED}], entry
    live = scene.workload()
    assert app_resources(live) == PROPOSED
    assert live["metadata"]["generation"] == 2, "the workload was patched more than once"
    events = scene.human.kube.request("events", "GET", f"/api/v1/namespaces/{NS}/events")["items"]
    about_rr = [e for e in events if e["involvedObject"]["name"] == "web-rr"]
    assert about_rr and all(e["reportingComponent"] == "krr-mcp-operator" for e in about_rr)


def dies_before_snapshot(scene: Scene, first: dict[str, Any]) -> threading.Event:
    """Kill the operator as its write-ahead snapshot is sent (the write never reaches the server)."""
    reached = threading.Event()
    halted = first["halted"]

    def fn(method: str, path: str, body: bytes) -> int | None:
        if method == "PATCH" and path.startswith(rr_path(NS, "web-rr") + "/status") and b'"Pending"' in body:
            if not reached.is_set():
                halted.set()
                reached.set()
            return 503
        return None

    scene.proxy.intercept(fn)
    return reached


@pytest.mark.parametrize("stage", ["before-snapshot", "snapshot-stored", "workload-patched", "rollout-watch"])
def test_killed_at_every_step_of_an_apply_then_restarted(scene: Scene, stage: str) -> None:
    first: dict[str, Any] = {"halted": threading.Event()}
    if stage in ("snapshot-stored", "workload-patched"):
        first["hook"] = crash = CrashAt(stage, first["halted"])
        reached = crash.reached
    elif stage == "before-snapshot":
        reached = dies_before_snapshot(scene, first)
    operator = OperatorThread(dataclasses.replace(scene.cfg, **first)).start()
    try:
        scene.propose()
        scene.approve()
        if stage == "rollout-watch":  # the patch is made; the rollout is followed until the kill
            wait_for("Applying", lambda: (scene.rr().get("status") or {}).get("phase") == "Applying")
        else:
            wait_for(f"the kill at {stage}", reached.is_set)
    finally:
        operator.kill()
    scene.proxy.interceptors.clear()

    # Dead operator: the workload is the original or the approved state, never anything else, and a
    # changed workload always has its snapshot stored.
    live = app_resources(scene.workload())
    history = (scene.rr().get("status") or {}).get("history") or []
    assert live in (ORIGINAL, PROPOSED)
    if live == PROPOSED:
        assert history and history[-1]["containers"][0]["before"] == ORIGINAL
    if stage == "before-snapshot":
        assert live == ORIGINAL and not history

    second = scene.start()
    try:
        applied = scene.settle("Applied")
    finally:
        second.kill()
    assert_applied_once_with_full_audit(scene, applied)


def test_api_server_unreachable_for_a_while_then_back(scene: Scene) -> None:
    operator = scene.start()
    try:
        scene.propose()
        wait_for("Proposed", lambda: (scene.rr().get("status") or {}).get("phase") == "Proposed")
        scene.proxy.down = True
        scene.approve()  # a human's approval while the operator cannot reach the API server
        threading.Event().wait(2.0)
        assert app_resources(scene.workload()) == ORIGINAL
        scene.proxy.down = False
        applied = scene.settle("Applied")
    finally:
        operator.kill()
    assert_applied_once_with_full_audit(scene, applied)


def test_watches_cut_and_expired_410_miss_no_approval(scene: Scene) -> None:
    operator = scene.start(poll_interval=60.0)  # no timer help: the approval must come via the watch
    try:
        scene.propose()
        wait_for("Proposed", lambda: (scene.rr().get("status") or {}).get("phase") == "Proposed")
        wait_for("kopf's watches open", lambda: scene.proxy.open_watches() >= 1)
        scene.proxy.expire_next = 3  # the watches resumed after the cut get 410 Gone (must re-list)
        assert scene.proxy.cut_watches() > 0
        scene.approve()
        scene.proxy.cut_watches()

        def patched() -> dict[str, Any] | None:
            rr = scene.rr()
            history = (rr.get("status") or {}).get("history") or []
            return rr if [h["outcome"] for h in history] == ["Succeeded"] else None

        applied = wait_for("the apply (Applied needs the timer, which is off here)", patched)
    finally:
        operator.kill()
    assert scene.proxy.expired > 0, "no watch was resumed with a resourceVersion: 410 not exercised"
    assert_applied_once_with_full_audit(scene, applied)
