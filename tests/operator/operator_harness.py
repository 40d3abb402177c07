"""Run the real operator (kopf) in a background thread against a sandbox, and wait on RR state."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from krr_operator.main import OperatorConfig, run


class OperatorThread:
    """kopf.operator in its own thread and event loop; `kill()` cancels the task like a crash would."""

    def __init__(self, cfg: OperatorConfig) -> None:
        self.cfg = cfg
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="krr-mcp-operator-test", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(run(self.cfg, ready_flag=self.ready))
        try:
            self.loop.run_until_complete(self.task)
        except BaseException as exc:  # cancelled (killed) or crashed: kept for the test to inspect
            self.error = exc
        finally:
            self.loop.close()

    def start(self, timeout: float = 15) -> OperatorThread:
        self.thread.start()
        if not self.ready.wait(timeout):
            raise TimeoutError("the operator did not become ready")
        return self

    def kill(self, timeout: float = 15) -> None:
        """Cancel the operator's task (as a killed process would stop) and wait for the thread."""
        if self.task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError("the operator thread did not stop")


@contextlib.contextmanager
def operator_running(cfg: OperatorConfig) -> Iterator[OperatorThread]:
    """The operator running with `cfg` for the `with` block (killed at its end)."""
    op = OperatorThread(cfg).start()
    try:
        yield op
    finally:
        op.kill()


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


class SimulatedCrash(BaseException):
    """Raised by CrashAt: not an Exception, so no handler code catches it."""


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
