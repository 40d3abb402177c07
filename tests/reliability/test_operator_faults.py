"""The real operator (kopf, over HTTP through a fault-injecting proxy) killed at every step of an apply,
cut off from the API server, its watches cut or expired (410): it recovers, applies exactly once, misses
no approval, and leaves a complete audit trail."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from krr_mcp.kube.client import rr_path

from ..operator.operator_harness import CrashAt, wait_for
from .faults import app_resources
from .scenes import NS, PROPOSED, Scene, assert_applied_once_with_full_audit
from .world import ORIGINAL


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
    with scene.operator(**first) as operator:
        scene.propose()
        scene.approve()
        if stage == "rollout-watch":  # the patch is made; the rollout is followed until the kill
            wait_for("Applying", lambda: (scene.rr().get("status") or {}).get("phase") == "Applying")
        else:
            wait_for(f"the kill at {stage}", reached.is_set)
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

    with scene.operator():
        applied = scene.settle("Applied")
    assert_applied_once_with_full_audit(scene, applied)


def test_api_server_unreachable_for_a_while_then_back(scene: Scene) -> None:
    with scene.operator():
        scene.propose()
        wait_for("Proposed", lambda: (scene.rr().get("status") or {}).get("phase") == "Proposed")
        scene.proxy.down = True
        scene.approve()  # a human's approval while the operator cannot reach the API server
        threading.Event().wait(2.0)
        assert app_resources(scene.workload()) == ORIGINAL
        scene.proxy.down = False
        applied = scene.settle("Applied")
    assert_applied_once_with_full_audit(scene, applied)


def test_watches_cut_and_expired_410_miss_no_approval(scene: Scene) -> None:
    with scene.operator(poll_interval=60.0):  # no timer help: the approval must come via the watch
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
    assert scene.proxy.expired > 0, "no watch was resumed with a resourceVersion: 410 not exercised"
    assert_applied_once_with_full_audit(scene, applied)
