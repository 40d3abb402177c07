"""Thin kopf handlers: every event and re-check of an RR runs `Reconciler.reconcile` on it.

Errors are mapped precisely: an unreachable server, throttling, a write conflict or a server error
is a `kopf.TemporaryError` (retried soon; a Pending snapshot is resumed then); anything else the API
server refused (403, 400, 404 on a write...) and a patch that cannot be built are `kopf.PermanentError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

import kopf

from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION, supersede_view
from krr_mcp.core.patches import PatchError
from krr_mcp.kube.client import KubeError

from . import metrics
from .audit import ready_reason
from .recheck import (
    FOLLOWED_PHASES,
    WAITING_PHASES,
    Key,
    RecheckLoop,
    RecheckSchedule,
    is_followed,
    is_waiting,
)
from .reconcile import Reconciler

__all__ = ["FOLLOWED_PHASES", "TARGET_INDEX", "WAITING_PHASES", "register", "run_in_thread", "run_once"]


def run_once(
    reconciler: Reconciler,
    namespace: str,
    name: str,
    logger: Any = None,
    siblings: list[dict[str, Any]] | None = None,
) -> None:
    """Reconcile one RR, raising kopf's retry semantics (nothing returned: kopf would store it in status)."""
    try:
        decision = reconciler.reconcile(namespace, name, siblings)
    except KubeError as exc:
        metrics.record_error("temporary" if exc.transient else "permanent")
        if exc.transient:
            raise kopf.TemporaryError(str(exc), delay=1) from exc
        raise kopf.PermanentError(str(exc)) from exc
    except PatchError as exc:
        metrics.record_error("permanent")
        raise kopf.PermanentError(str(exc)) from exc
    metrics.record_reconcile(str(decision.action) if decision is not None else None)
    if decision is not None and logger is not None and decision.action != "noop":
        logger.debug(f"{decision.action}: {decision.phase} ({decision.reason}) {decision.message}")


async def run_in_thread(executor: Executor | None, call: Callable[[], None]) -> None:
    """Run `call` in `executor`; cancelled while still queued, it never runs (while running, it finishes
    in its thread and the caller is released at once): a stopping operator does not wait for a backlog."""
    await asyncio.get_running_loop().run_in_executor(executor, contextvars.copy_context().run, call)


TARGET_INDEX = "rr_by_target"


def target_index_entry(
    namespace: str | None, name: str | None, body: Any, **_: Any
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The index entry of one RR: what the supersede search reads of it (`supersede_view`), keyed by
    its target."""
    key = _index_key(namespace, body.get("spec"))
    return {} if key is None else {key: supersede_view(body, name)}


IndexKey = tuple[str, str, str]  # (namespace, target kind, target name)


def _index_key(namespace: str | None, spec: Any) -> IndexKey | None:
    """Where an RR with `spec` (a dict, or kopf's view of one) sits in the index (None: no target object)."""
    target = spec.get("target") if isinstance(spec, Mapping) else None
    if not isinstance(target, Mapping):
        return None
    return (str(namespace), str(target.get("kind")), str(target.get("name")))


def _siblings_at(index: Any, key: IndexKey | None) -> list[dict[str, Any]] | None:
    """The RRs for one workload from the kopf index (None when the index or the key is not known)."""
    if index is None or key is None:
        return None
    return [dict(entry) for entry in index.get(key, [])]


def _siblings(kwargs: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The RRs for the same workload as the handler's RR, from the kopf index in its kwargs."""
    return _siblings_at(kwargs.get(TARGET_INDEX), _index_key(str(kwargs["namespace"]), kwargs.get("spec")))


def register(
    registry: kopf.OperatorRegistry,
    reconciler: Reconciler,
    poll_interval: float,
    idle_interval: float | None = None,
    executor: Executor | None = None,
    per_object_timers: bool = True,
    max_rechecks: int = 8,
) -> RecheckLoop | None:
    """Register the RR handlers on `registry`, all calling `reconciler` in `executor`'s threads.

    Followed RRs are re-checked every `poll_interval`, waiting ones every `idle_interval` (default: 12
    poll intervals), so that many RRs awaiting approval do not keep the operator (and the API server)
    busy: by a kopf timer per RR (`per_object_timers`; paused by kopf's peering), or by the returned
    `RecheckLoop` (one task for all RRs, fed by their events; the caller runs it).
    When the operator stops, reconciles still queued for a thread are dropped (their handlers are
    cancelled) and only those already running finish: a stop does not wait for a backlog.
    """
    resource = (GROUP, VERSION, PLURAL)

    async def on_change(**kwargs: Any) -> None:
        namespace, name = str(kwargs["namespace"]), str(kwargs["name"])
        logger, siblings = kwargs.get("logger"), _siblings(kwargs)
        await run_in_thread(
            executor, functools.partial(run_once, reconciler, namespace, name, logger, siblings)
        )

    on_tick = on_change

    async def index_entry(**kwargs: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
        return target_index_entry(**kwargs)  # async: kopf calls it in the event loop, not in a thread

    # RRs by (namespace, target kind, target name), kept by kopf from its watch stream: the supersede
    # check reads its siblings here instead of listing every RR of the namespace on each reconcile.
    kopf.index(*resource, id=TARGET_INDEX, registry=registry)(index_entry)

    def followed(**kwargs: Any) -> bool:
        status = kwargs.get("status") or {}
        return is_followed(status.get("phase"), ready_reason(status))

    def waiting(**kwargs: Any) -> bool:
        status = kwargs.get("status") or {}
        return is_waiting(status.get("phase"), ready_reason(status))

    kopf.on.resume(*resource, id="resume", registry=registry)(on_change)
    kopf.on.create(*resource, id="create", registry=registry)(on_change)
    kopf.on.update(*resource, id="spec-change", field="spec", registry=registry)(on_change)
    idle = idle_interval if idle_interval is not None else 12 * poll_interval
    if per_object_timers:
        kopf.timer(*resource, id="follow", interval=poll_interval, when=followed, registry=registry)(on_tick)
        kopf.timer(*resource, id="recheck", interval=idle, when=waiting, registry=registry)(on_tick)

        return None
    return _register_recheck_loop(
        registry, reconciler, executor, RecheckSchedule(poll_interval, idle), max_rechecks
    )


def on_workload_change(
    reconciler: Reconciler, event_loop: asyncio.AbstractEventLoop, executor: Executor | None
) -> Callable[[str, str, str], None]:
    """What the workload watch (operator/workload_watch.py, in its threads) calls for each change of a
    workload: every RR following that workload's rollout is re-checked at once, in `executor` beside the
    event handlers (not behind them in the re-check loop: following a rollout must keep pace with a
    burst of approvals). One re-check per RR is queued at a time; it reads the workload when it starts.
    """
    queued: set[Key] = set()

    async def recheck(key: Key) -> None:
        def once() -> None:
            queued.discard(key)
            with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):  # its own schedule retries
                run_once(reconciler, key[0], key[1])

        try:
            await run_in_thread(executor, once)
        finally:
            queued.discard(key)

    tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    def schedule(key: Key) -> None:  # in the event loop
        if key not in queued:
            queued.add(key)
            task = event_loop.create_task(recheck(key), name=f"follow {key}")
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def changed(namespace: str, kind: str, name: str) -> None:
        for rr_name in reconciler.following.rrs_of(namespace, kind, name):
            event_loop.call_soon_threadsafe(schedule, (namespace, rr_name))

    return changed


def _register_recheck_loop(
    registry: kopf.OperatorRegistry,
    reconciler: Reconciler,
    executor: Executor | None,
    schedule: RecheckSchedule,
    max_rechecks: int,
) -> RecheckLoop:
    """The loop that re-checks RRs as `schedule` says, and the event handler that feeds it."""
    seen: dict[str, Any] = {}  # the kopf index, as the last event handed it over
    index_keys: dict[Key, IndexKey] = {}  # where each scheduled RR sits in the index, for its siblings

    async def check(key: Key) -> None:
        siblings = _siblings_at(seen.get("index"), index_keys.get(key))
        await run_in_thread(executor, functools.partial(run_once, reconciler, key[0], key[1], None, siblings))

    loop = RecheckLoop(schedule, check, max_in_flight=max_rechecks)

    async def observe(**kwargs: Any) -> None:
        key = (str(kwargs["namespace"]), str(kwargs["name"]))
        seen["index"] = kwargs.get(TARGET_INDEX)
        if kwargs.get("type") == "DELETED":
            loop.forget(key)
        else:
            status = kwargs.get("status") or {}
            loop.observe(key, status.get("phase"), ready_reason(status))
        index_key = _index_key(key[0], kwargs.get("spec"))
        if key in schedule and index_key is not None:
            index_keys[key] = index_key
        else:
            index_keys.pop(key, None)

    kopf.on.event(GROUP, VERSION, PLURAL, id="recheck-schedule", registry=registry)(observe)
    return loop
