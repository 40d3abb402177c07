#!/usr/bin/env python3
"""Operator benchmark: the pure decision and patch functions, and approve -> Applied over real HTTP.

1. `decide` + `json_patch` per call for RRs of 1..64 containers (pure; best of several runs).
2. End to end against the sandbox API server: N RRs created, approved with a merge patch, and the time
   until each is Applied (the operator in-process, kopf, poll interval 0.2 s), then rolled back.

    ./uvw run python benchmarks/operator.py
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import threading
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from krr_operator.api.resource_recommendation import SafetyReport
from krr_operator.decisions import decide
from krr_operator.kube import Kube
from krr_operator.main import OperatorConfig, run
from krr_operator.patches import json_patch
from rich.console import Console
from rich.table import Table

from krr_mcp.sandbox.testing import SandboxHandle

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CURRENT = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
PROPOSED = {"requests": {"cpu": "300m", "memory": "400Mi"}, "limits": {"memory": "800Mi"}}
SAFE = SafetyReport(allowed=True, risk="low")


def workload(name: str, containers: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "generation": 1},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": f"c{i}", "image": "nginx", "resources": copy.deepcopy(CURRENT)}
                        for i in range(containers)
                    ]
                },
            },
        },
    }


def rr(name: str, target: str, containers: int, approved: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "containers": [
            {"name": f"c{i}", "current": CURRENT, "proposed": PROPOSED} for i in range(containers)
        ],
        "evidence": {"source": "manual"},
        "reason": "benchmark",
    }
    if approved:
        spec |= {"approved": True, "approvedBy": "bench"}
    meta = {"name": name, "namespace": "default", "generation": 1}
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": meta,
        "spec": spec,
    }


def pure_table(console: Console) -> None:
    table = Table(title="decide + json_patch (pure)")
    for column in ("containers", "decide µs", "json_patch µs", "patch ops"):
        table.add_column(column, justify="right")
    for n in (1, 4, 16, 64):
        body, live = rr("r", "web", n), workload("web", n)
        decision = decide(body, live, NOW, safety=SAFE)
        runs = max(10, 2000 // n)
        t_decide = min(
            timeit.repeat(lambda b=body, w=live: decide(b, w, NOW, safety=SAFE), number=runs, repeat=3)
        )
        t_patch = min(
            timeit.repeat(
                lambda w=live, d=decision: json_patch("Deployment", w, d.changes), number=runs, repeat=3
            )
        )
        ops = len(json_patch("Deployment", live, decision.changes))
        table.add_row(str(n), f"{t_decide / runs * 1e6:.0f}", f"{t_patch / runs * 1e6:.0f}", str(ops))
    console.print(table)


def end_to_end_table(console: Console, count: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        sandbox = SandboxHandle(Path(folder) / "kubeconfig")
        halted = threading.Event()
        cfg = OperatorConfig(
            kubeconfig=str(sandbox.kubeconfig), poll_interval=0.2, watch_timeout=5, halted=halted
        )
        stop = threading.Event()
        thread = threading.Thread(
            target=lambda: __import__("asyncio").run(run(cfg, stop_flag=stop)), daemon=True
        )
        try:
            with sandbox.api_client() as api:
                kube = Kube(api)
                sandbox.apply(*[workload(f"w{i}", 1) for i in range(count)])
                thread.start()
                time.sleep(1.0)
                latencies, rollbacks = [], []
                for i in range(count):
                    kube.create_rr("default", rr(f"r{i}", f"w{i}", 1, approved=False))
                    started = time.monotonic()
                    kube.request(
                        "approve",
                        "PATCH",
                        f"/apis/krr-mcp.io/v1alpha1/namespaces/default/resourcerecommendations/r{i}",
                        body={"spec": {"approved": True, "approvedBy": "bench"}},
                        content_type="application/merge-patch+json",
                    )
                    latencies.append(wait_phase(kube, f"r{i}", "Applied") - started)
                    started = time.monotonic()
                    kube.request(
                        "rollback",
                        "PATCH",
                        f"/apis/krr-mcp.io/v1alpha1/namespaces/default/resourcerecommendations/r{i}",
                        body={"spec": {"rollbackRequested": True}},
                        content_type="application/merge-patch+json",
                    )
                    rollbacks.append(wait_phase(kube, f"r{i}", "RolledBack") - started)
        finally:
            stop.set()
            thread.join(10)
            sandbox.close()
    table = Table(title=f"sandbox over HTTP, {count} RRs (poll interval 0.2 s)")
    for column in ("step", "median s", "max s"):
        table.add_column(column, justify="right")
    table.add_row("approve -> Applied", f"{statistics.median(latencies):.2f}", f"{max(latencies):.2f}")
    table.add_row("rollback -> RolledBack", f"{statistics.median(rollbacks):.2f}", f"{max(rollbacks):.2f}")
    console.print(table)


def wait_phase(kube: Kube, name: str, phase: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = kube.get_rr("default", name) or {}
        if (body.get("status") or {}).get("phase") == phase:
            return time.monotonic()
        time.sleep(0.02)
    raise TimeoutError(f"{name} never reached {phase}")


if __name__ == "__main__":
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("kopf").setLevel(logging.ERROR)
    out = Console()
    pure_table(out)
    end_to_end_table(out)
