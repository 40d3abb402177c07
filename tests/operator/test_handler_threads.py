"""Reconciles run in a bounded thread pool behind async kopf handlers: a stopping operator drops the
reconciles still queued (they never run) and does not wait for the running one."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from krr_operator.handlers import run_in_thread


async def test_cancelled_queued_reconciles_never_run_and_the_running_one_does_not_hold_the_stop() -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    release, started = threading.Event(), threading.Event()
    ran: list[int] = []

    def blocking() -> None:
        started.set()
        release.wait(30)
        ran.append(0)

    def queued(i: int) -> None:
        ran.append(i)

    try:
        running = asyncio.create_task(run_in_thread(executor, blocking))
        backlog = [asyncio.create_task(run_in_thread(executor, lambda i=i: queued(i))) for i in range(1, 11)]
        await asyncio.to_thread(started.wait, 10)
        for task in [running, *backlog]:
            task.cancel()
        results = await asyncio.gather(running, *backlog, return_exceptions=True)
        # Every handler is released while the running reconcile is still blocked in its thread.
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert not release.is_set() and ran == []
    finally:
        release.set()
        executor.shutdown(wait=True)
    assert ran == [0]  # the running one finished in its thread; none of the ten queued ever ran


async def test_a_reconcile_error_reaches_the_handler() -> None:
    def refuse() -> None:
        raise RuntimeError("refused")

    with ThreadPoolExecutor(max_workers=1) as executor, pytest.raises(RuntimeError, match="refused"):
        await run_in_thread(executor, refuse)
