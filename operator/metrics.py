"""Prometheus metrics of the operator (one registry of its own, served by `health.ProbeServer`).

Counted at the two choke points every decision passes: `handlers.run_once` (each reconcile and its
action, errors by kind) and `audit.Auditor.record` (applies, rollbacks, refusals by reason, and the apply
latency from the write-ahead snapshot to the confirmed patch).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()

RECONCILES = Counter(
    "krr_mcp_operator_reconciles",
    "Reconciles of a ResourceRecommendation, by the action decided",
    ["action"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "krr_mcp_operator_reconcile_errors",
    "Reconciles that raised, by kind (temporary: retried)",
    ["kind"],
    registry=REGISTRY,
)
APPLIES = Counter(
    "krr_mcp_operator_applies", "Changes applied to workloads, by outcome", ["outcome"], registry=REGISTRY
)
ROLLBACKS = Counter(
    "krr_mcp_operator_rollbacks",
    "Rollbacks (requested or automatic), by action and outcome",
    ["action", "outcome"],
    registry=REGISTRY,
)
REFUSALS = Counter("krr_mcp_operator_refusals", "Decisions refused, by reason", ["reason"], registry=REGISTRY)
APPLY_SECONDS = Histogram(
    "krr_mcp_operator_apply_seconds",
    "From the stored write-ahead snapshot to the confirmed workload patch (apply and rollback)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)

_started: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def record_reconcile(action: str | None) -> None:
    RECONCILES.labels(action=action or "gone").inc()


def record_error(kind: str) -> None:
    RECONCILE_ERRORS.labels(kind=kind).inc()


def record_outcome(
    rr: dict[str, Any], action: str, history_action: str | None, reason: str, outcome: str
) -> None:
    """Count what `Auditor.record` logs: a change's stages, and refusals."""
    meta = rr.get("metadata") or {}
    key = (str(meta.get("namespace")), str(meta.get("name")))
    if action == "refuse":
        REFUSALS.labels(reason=reason).inc()
    if history_action is None:
        return
    if outcome == "Pending":
        with _lock:
            _started[key] = time.monotonic()
        return
    with _lock:
        started = _started.pop(key, None)
    if outcome == "Succeeded" and started is not None:
        APPLY_SECONDS.observe(time.monotonic() - started)
    if history_action == "apply":
        APPLIES.labels(outcome=outcome).inc()
    else:
        ROLLBACKS.labels(action=history_action, outcome=outcome).inc()
