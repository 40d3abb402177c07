"""Thin kopf handlers: every event and timer tick of an RR runs `Reconciler.reconcile` on it.

Errors are mapped precisely: an unreachable server, throttling, a write conflict or a server error
is a `kopf.TemporaryError` (retried soon; a Pending snapshot is resumed then); anything else the API
server refused (403, 400, 404 on a write...) and a patch that cannot be built are `kopf.PermanentError`.
"""

from __future__ import annotations

from typing import Any

import kopf

from . import metrics
from .api.resource_recommendation import GROUP, PLURAL, VERSION
from .kube import KubeError
from .patches import PatchError
from .reconcile import Reconciler

# Phases in which the operator is carrying out a change (or has not looked yet): followed every
# poll interval, since a rollout's progress or a Pending snapshot needs prompt attention.
FOLLOWED_PHASES = {"Approved", "Applying", "RollingBack", None}
# Phases waiting on a human or on the world (expiry, drift, supersede, a fresh safety report): re-checked
# every idle interval. An approval does not wait for this: it is a spec change, handled at once.
WAITING_PHASES = {"Proposed", "Stale"}


def run_once(reconciler: Reconciler, namespace: str, name: str, logger: Any = None) -> None:
    """Reconcile one RR, raising kopf's retry semantics (nothing returned: kopf would store it in status)."""
    try:
        decision = reconciler.reconcile(namespace, name)
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


def register(
    registry: kopf.OperatorRegistry,
    reconciler: Reconciler,
    poll_interval: float,
    idle_interval: float | None = None,
) -> None:
    """Register the RR handlers on `registry`, all calling `reconciler`.

    Waiting RRs are re-checked every `idle_interval` (default: 12 poll intervals), so that many RRs
    awaiting approval do not keep the operator (and the API server) busy.
    """
    resource = (GROUP, VERSION, PLURAL)

    def on_change(**kwargs: Any) -> None:
        run_once(reconciler, str(kwargs["namespace"]), str(kwargs["name"]), kwargs.get("logger"))

    def on_tick(**kwargs: Any) -> None:
        run_once(reconciler, str(kwargs["namespace"]), str(kwargs["name"]), kwargs.get("logger"))

    def is_followed(**kwargs: Any) -> bool:
        return (kwargs.get("status") or {}).get("phase") in FOLLOWED_PHASES

    def is_waiting(**kwargs: Any) -> bool:
        return (kwargs.get("status") or {}).get("phase") in WAITING_PHASES

    kopf.on.resume(*resource, id="resume", registry=registry)(on_change)
    kopf.on.create(*resource, id="create", registry=registry)(on_change)
    kopf.on.update(*resource, id="spec-change", field="spec", registry=registry)(on_change)
    kopf.timer(*resource, id="follow", interval=poll_interval, when=is_followed, registry=registry)(on_tick)
    idle = idle_interval if idle_interval is not None else 12 * poll_interval
    kopf.timer(*resource, id="recheck", interval=idle, when=is_waiting, registry=registry)(on_tick)
