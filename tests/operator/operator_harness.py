"""The one way tests run the real operator (kopf) in a thread: `operator_running`, and waiting on state.

    with operator_running(cfg, idle_interval=0.3) as op:   # explicit settings: cfg plus changes
        ...                                              # the operator is ready here
    # left: stopped cleanly (its stop flag), the thread joined with a timeout, and an exception the
    # operator's thread died of is raised here, not lost

A test that plays a crash ends the operator with `op.kill()` (its task cancelled, as a killed process
stops) inside the block; a killed operator's cancellation and a `SimulatedCrash` are expected, any other
exception of its thread is still raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from krr_operator.main import OperatorConfig, run


class SimulatedCrash(BaseException):
    """Raised by CrashAt: not an Exception, so no handler code catches it."""


class OperatorFailed(AssertionError):
    """The operator's thread ended with an exception the test did not cause on purpose."""


class OperatorThread:
    """krr_operator.main.run in its own thread and event loop. Use it through `operator_running`."""

    def __init__(self, cfg: OperatorConfig) -> None:
        self.cfg = cfg
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_flag = threading.Event()
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.killed = False
        self.thread = threading.Thread(target=self._main, name="krr-mcp-operator-test", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(run(self.cfg, stop_flag=self.stop_flag, ready_flag=self.ready))
        try:
            self.loop.run_until_complete(self.task)
        except BaseException as exc:  # cancelled (killed) or crashed: raised to the test by _join
            self.error = exc
        finally:
            self.ready.set()  # a thread that died before it was ready does not keep start() waiting
            # kopf waits for a threading.Event stop flag in an executor thread; an operator that ended
            # otherwise (killed, crashed) would leave that thread waiting, and Python's exit with it
            self.stop_flag.set()
            self.loop.close()

    def start(self, timeout: float = 15) -> OperatorThread:
        """Start the thread; return once the operator is ready. OperatorFailed if it died starting."""
        self.thread.start()
        if not self.ready.wait(timeout):
            self.kill()
            raise TimeoutError("the operator did not become ready")
        if not self.thread.is_alive() or self.error is not None:
            self._join(timeout)
            raise OperatorFailed("the operator stopped while starting")  # _join raised any error
        return self

    def stop(self, timeout: float = 30) -> None:
        """Stop cleanly (the stop flag, as SIGTERM does), join; raise what the thread died of."""
        self.stop_flag.set()
        self._join(timeout)

    def kill(self, timeout: float = 15) -> None:
        """Cancel the operator's task (as a killed process would stop) and join the thread."""
        self.killed = True
        if self.task is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: already ended
                self.loop.call_soon_threadsafe(self.task.cancel)
        self._join(timeout)

    def _join(self, timeout: float) -> None:
        self.thread.join(timeout)
        if self.thread.is_alive():
            if not self.killed:  # a clean stop that hangs: cancel, so no thread outlives the test
                self.kill(timeout)
            raise TimeoutError(f"the operator thread did not stop within {timeout} s")
        error, self.error = self.error, None
        expected = (asyncio.CancelledError, SimulatedCrash) if self.killed else ()
        if error is not None and not isinstance(error, expected):
            raise OperatorFailed(f"the operator's thread died: {error!r}") from error


@contextlib.contextmanager
def operator_running(cfg: OperatorConfig, **changes: Any) -> Iterator[OperatorThread]:
    """The operator running with `cfg` and the field `changes` for the `with` block, ready at its start;
    stopped at its end (unless the block killed it) and joined, raising what its thread died of.

    Each run gets its own `halted` event unless one is given: an operator sets its `halted` when it
    stops, so a second run sharing the first's would act on nothing."""
    changes.setdefault("halted", threading.Event())
    op = OperatorThread(dataclasses.replace(cfg, **changes)).start()
    try:
        yield op
    finally:
        if op.thread.is_alive():
            op.stop()
        else:
            op._join(0)


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 15, interval: float = 0.1) -> Any:
    """Poll `probe` until it returns something truthy; that value. TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what} (last: {last!r})")


class CrashAt:
    """A reconcile hook that 'kills' the operator at `stage`: halts it, then raises SimulatedCrash."""

    def __init__(self, stage: str, halted: threading.Event) -> None:
        self.stage = stage
        self.halted = halted
        self.reached = threading.Event()

    def __call__(self, stage: str, rr: dict[str, Any]) -> None:
        if stage == self.stage:
            self.halted.set()
            self.reached.set()
            raise SimulatedCrash(stage)
