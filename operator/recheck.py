"""Re-checks of RRs on a schedule: one task for every RR instead of a kopf timer per RR.

An RR in a followed phase (a change under way, or not looked at yet) is re-checked every poll
interval; one waiting on a human or on the world (expiry, drift, supersede, a fresh safety report)
every idle interval; any other is left alone until an event. kopf's timers would do the same, but a
timer keeps a task and the RR's whole body in memory for every RR (about 30 KiB each, measured in
benchmarks/operator.py); `RecheckSchedule` keeps one due time per RR, fed by kopf's events.

kopf pauses its timers while another replica is active (peering); this loop knows nothing of peering,
so the operator uses it only when it runs standalone, and kopf's timers otherwise (operator/main.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import kopf
import structlog

from krr_mcp.core.decisions import CONTROLLER_NOT_OBSERVING, WAITING_FOR_CONTROLLER

log = structlog.get_logger("krr_mcp.operator")

Key = tuple[str, str]  # (namespace, name) of an RR

# Phases in which the operator is carrying out a change (or has not looked yet): followed every
# poll interval, since a rollout's progress or a Pending snapshot needs prompt attention.
FOLLOWED_PHASES = {"Approved", "Applying", "RollingBack", None}
# Phases waiting on a human or on the world (expiry, drift, supersede, a fresh safety report): re-checked
# every idle interval. An approval does not wait for this: it is a spec change, handled at once. Stale is
# final (decisions.TERMINAL_PHASES): nothing to re-check.
WAITING_PHASES = {"Proposed"}
# Ready reasons of a followed RR whose change the workload's controller has not taken up: it waits on
# that controller, and its workload's events (operator/handlers.py watches the workloads) wake it up; so
# it is re-checked only every idle interval, not every poll interval (thousands of them would keep the
# API server busy while the controller works through its backlog).
CONTROLLER_WAIT_REASONS = {WAITING_FOR_CONTROLLER, CONTROLLER_NOT_OBSERVING}


def is_followed(phase: Any, reason: Any = None) -> bool:
    """Re-checked every poll interval: a change under way (or an RR not looked at yet)."""
    return phase in FOLLOWED_PHASES and reason not in CONTROLLER_WAIT_REASONS


def is_waiting(phase: Any, reason: Any = None) -> bool:
    """Re-checked every idle interval: waiting on a human, on the world, or on a workload's controller."""
    return phase in WAITING_PHASES or (phase in FOLLOWED_PHASES and reason in CONTROLLER_WAIT_REASONS)


class RecheckSchedule:
    """When each RR is next due (pure: the caller passes the time; no I/O, no tasks).

    `observe` an RR's phase on each of its events: a phase that changes how often it is re-checked
    (or a new RR) makes it due one interval from now (the event itself is being handled now); the same
    kind of phase keeps its due time. `take_due` hands out the due RRs and schedules their next check.
    """

    def __init__(self, poll_interval: float, idle_interval: float) -> None:
        if poll_interval <= 0 or idle_interval <= 0:
            raise ValueError("intervals must be > 0")
        self.poll_interval = poll_interval
        self.idle_interval = idle_interval
        self._due: dict[Key, tuple[float, float]] = {}  # key -> (due time, interval)

    def interval_for(self, phase: Any, reason: Any = None) -> float | None:
        """How often an RR in `phase` (its Ready condition's `reason`) is re-checked (None: never)."""
        if is_followed(phase, reason):
            return self.poll_interval
        if is_waiting(phase, reason):
            return self.idle_interval
        return None

    def observe(self, key: Key, phase: Any, now: float, reason: Any = None) -> None:
        interval = self.interval_for(phase, reason)
        if interval is None:
            self._due.pop(key, None)
        elif key not in self._due or self._due[key][1] != interval:
            self._due[key] = (now + interval, interval)

    def forget(self, key: Key) -> None:
        self._due.pop(key, None)

    def take_due(self, now: float) -> list[Key]:
        """The RRs due at `now` (longest due first); each is next due one interval later."""
        due = sorted((when, key) for key, (when, _) in self._due.items() if when <= now)
        for _, key in due:
            self._due[key] = (now + self._due[key][1], self._due[key][1])
        return [key for _, key in due]

    def retry_soon(self, key: Key, now: float, delay: float) -> None:
        """A check failed for a transient reason: due again after `delay` (not later than planned)."""
        if key in self._due:
            when, interval = self._due[key]
            self._due[key] = (min(when, now + delay), interval)

    def next_due(self) -> float | None:
        return min((when for when, _ in self._due.values()), default=None)

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due


Check = Callable[[Key], Awaitable[None]]


class RecheckLoop:
    """Runs `check(key)` for every due RR, at most `max_in_flight` at once and one at a time per RR.

    A `kopf.TemporaryError` makes the RR due again after its delay; any other error is logged and the
    RR keeps its schedule. Cancelling `run` cancels the checks in flight.
    """

    def __init__(
        self,
        schedule: RecheckSchedule,
        check: Check,
        max_in_flight: int,
        clock: Callable[[], float] | None = None,
        max_sleep: float = 1.0,
    ) -> None:
        self.schedule = schedule
        self._check = check
        self._slots = asyncio.Semaphore(max_in_flight)
        self._clock = clock
        self._max_sleep = max_sleep
        self._in_flight: dict[Key, asyncio.Task[None]] = {}

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def observe(self, key: Key, phase: Any, reason: Any = None) -> None:
        self.schedule.observe(key, phase, self.now(), reason)  # due an interval from now: no wake-up needed

    def forget(self, key: Key) -> None:
        self.schedule.forget(key)

    async def run(self) -> None:
        try:
            while True:
                for key in self.schedule.take_due(self.now()):
                    if key in self._in_flight:
                        continue  # still being checked: this round is skipped, the next one comes
                    await self._slots.acquire()
                    self._in_flight[key] = asyncio.create_task(self._one(key), name=f"recheck {key}")
                next_due = self.schedule.next_due()
                delay = self._max_sleep if next_due is None else min(self._max_sleep, next_due - self.now())
                await asyncio.sleep(max(delay, 0.01))
        finally:
            for task in self._in_flight.values():
                task.cancel()

    async def _one(self, key: Key) -> None:
        try:
            await self._check(key)
        except kopf.TemporaryError as exc:
            self.schedule.retry_soon(key, self.now(), float(exc.delay or 1.0))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a PermanentError or a bug: the RR keeps its schedule, the loop goes on
            log.warning("recheck failed", namespace=key[0], name=key[1], error=str(exc))
        finally:
            self._in_flight.pop(key, None)
            self._slots.release()
