"""The re-check schedule (pure) and the loop that runs it: followed RRs every poll interval, waiting
ones every idle interval, settled ones never; one check per RR at a time; transient errors retried soon."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import kopf
import pytest
import yaml
from krr_operator.main import OperatorConfig
from krr_operator.recheck import RecheckLoop, RecheckSchedule

from krr_mcp.kube.client import Kube
from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import rr_manifest, web_deployment
from .operator_harness import operator_running, wait_for
from .test_operator_sandbox import kubectl, phase_is, rolled_out

pytestmark = pytest.mark.looptime  # the loop's waits cost no wall time

A, B, C = ("ns", "a"), ("ns", "b"), ("ns", "c")


def test_phases_choose_the_interval() -> None:
    schedule = RecheckSchedule(poll_interval=5, idle_interval=60)
    schedule.observe(A, "Applying", now=0)
    schedule.observe(B, "Proposed", now=0)
    schedule.observe(C, "Applied", now=0)  # settled: not re-checked
    assert C not in schedule and len(schedule) == 2
    assert schedule.take_due(4.9) == []
    assert schedule.take_due(5) == [A]
    assert schedule.take_due(10) == [A]
    assert schedule.take_due(60) == [A, B]  # A was due at 15, B at 60: longest due first


def test_a_change_waiting_for_its_workloads_controller_is_rechecked_every_idle_interval() -> None:
    """Its workload's events wake it (the operator watches the workloads); thousands of them waiting on
    a controller's backlog must not be re-read every poll interval."""
    schedule = RecheckSchedule(poll_interval=5, idle_interval=60)
    schedule.observe(A, "Applying", now=0, reason="WaitingForController")
    schedule.observe(B, "RollingBack", now=0, reason="ControllerNotObserving")
    schedule.observe(C, "Applying", now=0, reason="RolloutProgressing")
    assert schedule.take_due(5) == [C]
    assert schedule.take_due(60) == [C, A, B]  # C was due at 10, A and B at 60
    schedule.observe(A, "Applying", now=61, reason="RolloutProgressing")  # taken up: followed again
    assert schedule.take_due(66) == [C, A]


def test_an_event_in_the_same_kind_of_phase_keeps_the_due_time() -> None:
    schedule = RecheckSchedule(poll_interval=5, idle_interval=60)
    schedule.observe(A, None, now=0)  # new RR: followed
    schedule.observe(A, "Applying", now=4)  # still followed: due at 5 as before
    assert schedule.take_due(5) == [A]
    schedule.observe(A, "Proposed", now=6)  # now waiting: due one idle interval from now
    assert schedule.take_due(60) == [] and schedule.take_due(66) == [A]
    schedule.observe(A, "Applied", now=70)
    assert A not in schedule and schedule.next_due() is None


def test_forget_and_retry_soon() -> None:
    schedule = RecheckSchedule(poll_interval=5, idle_interval=60)
    schedule.observe(A, "Proposed", now=0)
    schedule.retry_soon(A, now=1, delay=1)
    assert schedule.next_due() == 2
    schedule.retry_soon(A, now=1, delay=600)  # never later than already planned
    assert schedule.next_due() == 2
    schedule.forget(A)
    schedule.retry_soon(A, now=1, delay=1)  # a forgotten RR is not brought back
    assert A not in schedule


def test_intervals_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RecheckSchedule(poll_interval=0, idle_interval=60)


async def test_the_loop_checks_due_rrs_and_retries_transient_errors() -> None:
    checked: list[tuple[str, str]] = []
    failing = {B}

    async def check(key: tuple[str, str]) -> None:
        checked.append(key)
        if key in failing:
            failing.discard(key)
            raise kopf.TemporaryError("503", delay=1)
        if key == C:
            raise kopf.PermanentError("refused")

    loop = RecheckLoop(RecheckSchedule(poll_interval=5, idle_interval=60), check, max_in_flight=2)
    loop.observe(A, "Applying")
    loop.observe(B, "Applying")
    loop.observe(C, "Applying")
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(5.5)  # looptime: no wall time
    assert sorted(checked) == [A, B, C]
    await asyncio.sleep(1.0)  # B's transient error: due again after 1 s, not after 5
    assert sorted(checked) == [A, B, B, C]
    await asyncio.sleep(4.0)  # A and C again at 10 (a permanent error keeps the schedule); B's next is at 11
    assert sorted(checked) == [A, A, B, B, C, C]
    await asyncio.sleep(1.0)
    assert sorted(checked) == [A, A, B, B, B, C, C]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_one_check_per_rr_at_a_time_and_a_bounded_number_in_flight() -> None:
    running: set[tuple[str, str]] = set()
    most = 0
    release = asyncio.Event()
    started: list[tuple[str, str]] = []

    async def check(key: tuple[str, str]) -> None:
        nonlocal most
        assert key not in running, f"{key} checked twice at once"
        running.add(key)
        started.append(key)
        most = max(most, len(running))
        await release.wait()
        running.discard(key)

    loop = RecheckLoop(RecheckSchedule(poll_interval=1, idle_interval=60), check, max_in_flight=2)
    for key in (A, B, C):
        loop.observe(key, "Applying")
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(10)  # many rounds come due while the first checks hang
    assert most == 2 and len(started) == 2
    release.set()
    await asyncio.sleep(2)
    assert C in started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not running


# -- the loop inside the running operator (kopf in a thread, the sandbox over HTTP) --------------------


def test_the_running_operator_rechecks_waiting_rrs_from_its_index_without_listing(
    sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-checks of an RR awaiting approval read the RR (a fresh GET) and take its siblings from kopf's
    index: never a list of the namespace's RRs (that made each re-check O(N))."""
    calls: Counter[str] = Counter()
    for method in ("get_rr", "list_rrs"):
        original = getattr(Kube, method)

        def counted(self: Kube, *args: Any, _original: Any = original, _name: str = method, **kw: Any) -> Any:
            calls[_name] += 1
            return _original(self, *args, **kw)

        monkeypatch.setattr(Kube, method, counted)
    config = OperatorConfig(
        kubeconfig=str(sandbox.kubeconfig),
        poll_interval=0.2,
        idle_interval=0.3,
        watch_timeout=5,
        allow_without_admission_policy=True,  # the sandbox runs no admission policies
    )
    with operator_running(config):
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
        rolled_out(sandbox)
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
        wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
        calls.clear()
        wait_for("three re-checks of the waiting RR", lambda: calls["get_rr"] >= 3, timeout=20)
        assert calls["list_rrs"] == 0, calls
