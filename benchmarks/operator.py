#!/usr/bin/env python3
"""Operator benchmark: the pure decision and patch functions, approve -> Applied over real HTTP, and load.

1. `decide` + `json_patch` per call for RRs of 1..64 containers (pure; best of several runs).
2. End to end against the sandbox API server: N RRs created, approved with a merge patch, and the time
   until each is Applied (the operator in-process, kopf, poll interval 0.2 s), then rolled back.
3. Load (`--load N [N ...]`): N RRs approved at once on the sandbox; the operator runs as its own process
   (`krr-mcp operator`); time to all patched and all Applied, API calls per RR counted at the sandbox
   server, the operator's RSS growth per RR; and the ceiling: the same writes (snapshot status patch,
   workload JSON patch, outcome status patch, phase status patch) sent by a plain sequential client.
   `--target real`: the same on the real control plane (`krr-mcp cluster`: kube-apiserver on real etcd,
   the real Deployment controller); the operator runs with its ServiceAccount's token, alice approves
   (16 parallel merge patches), API calls are counted per user from the API server's audit log, and
   the workloads have 0 replicas (the Deployment controller still rolls each out; no pod churn).

    ./uvw run python benchmarks/operator.py              # 1 and 2
    ./uvw run python benchmarks/operator.py --load 100 1000
    ./uvw run python benchmarks/operator.py --load 1000 5000 --target real
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
from typing import Any, ClassVar

from krr_operator.main import OperatorConfig, run
from rich.console import Console
from rich.table import Table

from krr_mcp.api import project_crds
from krr_mcp.api.resource_recommendation import SafetyReport
from krr_mcp.cluster.control_plane import die_with_parent
from krr_mcp.core.decisions import DecisionInputs, decide
from krr_mcp.core.patches import json_patch
from krr_mcp.kube.client import MERGE_PATCH, Kube, rr_path
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
        decision = decide(DecisionInputs(body, live, NOW, safety=SAFE))
        runs = max(10, 2000 // n)
        t_decide = min(
            timeit.repeat(
                lambda b=body, w=live: decide(DecisionInputs(b, w, NOW, safety=SAFE)), number=runs, repeat=3
            )
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
        sandbox = SandboxHandle(Path(folder) / "kubeconfig", crds=project_crds())
        halted = threading.Event()
        cfg = OperatorConfig(
            kubeconfig=str(sandbox.kubeconfig),
            poll_interval=0.2,
            watch_timeout=5,
            halted=halted,
            allow_without_admission_policy=True,  # the sandbox runs no admission policies
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
                    approve = {"approved": True, "approvedBy": "bench"}
                    latencies.append(timed_spec_patch(kube, f"r{i}", approve, "Applied"))
                    rollback = {"rollbackRequested": True, "rollbackRequestedBy": "bench"}
                    rollbacks.append(timed_spec_patch(kube, f"r{i}", rollback, "RolledBack"))
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


def timed_spec_patch(kube: Kube, name: str, spec: dict[str, Any], phase: str) -> float:
    """Seconds from merge-patching RR `name`'s spec with `spec` until it reaches `phase`."""
    started = time.monotonic()
    kube.request(
        "patch the RR's spec",
        "PATCH",
        rr_path("default", name),
        body={"spec": spec},
        content_type=MERGE_PATCH,
    )
    return wait_phase(kube, name, phase) - started


def wait_phase(kube: Kube, name: str, phase: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = kube.get_rr("default", name) or {}
        if (body.get("status") or {}).get("phase") == phase:
            return time.monotonic()
        time.sleep(0.02)
    raise TimeoutError(f"{name} never reached {phase}")


# -- 3. load: N RRs approved at once ---------------------------------------------------------------
LOAD_NS = "bench"
SETTLED = ("Applied", "RolledBack", "Failed")


class CountingSandbox:
    """A sandbox API server in a background thread that counts the HTTP requests it serves."""

    def __init__(self, folder: Path) -> None:
        import asyncio
        from collections import Counter

        from krr_mcp.sandbox.kubeconfig import write_kubeconfig
        from krr_mcp.sandbox.launch import seed_server
        from krr_mcp.sandbox.server import SandboxServer

        self.requests: Counter[str] = Counter()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def start() -> SandboxServer:
            server = SandboxServer(history_size=50_000, watch_queue_size=100_000)
            handle = server._handle  # counted in front of the server's own request handler

            async def counted(request: Any) -> Any:
                watch = request.query.get("watch") in ("true", "1")
                self.requests[f"{request.method}{' watch' if watch else ''}"] += 1
                return await handle(request)

            server._handle = counted  # type: ignore[method-assign]
            await server.start("127.0.0.1", 0)
            seed_server(server, "none", project_crds())
            return server

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(60)
        self.kubeconfig = write_kubeconfig(folder / "kubeconfig", self.server.url)

    def call(self, fn: Any) -> Any:
        import asyncio

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(600)

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def apply(self, docs: list[dict[str, Any]]) -> None:
        for i in range(0, len(docs), 500):
            self.call(lambda chunk=docs[i : i + 500]: self.server.apply_documents(chunk))

    def phases(self, namespace: str) -> dict[str, int]:
        def read() -> dict[str, int]:
            from collections import Counter

            rt = self.server.registry.get("krr-mcp.io", "v1alpha1", "resourcerecommendations")
            assert rt is not None
            counts: Counter[str] = Counter()
            for obj in self.server.store.list_objects(rt.storage_key, namespace):
                status = obj.get("status") or {}
                counts[str(status.get("phase"))] += 1
                if any(h.get("outcome") == "Succeeded" for h in status.get("history") or []):
                    counts["patched"] += 1
            return dict(counts)

        return dict(self.call(read))

    def approve_all(self, namespace: str, names: list[str]) -> None:
        from krr_mcp.sandbox.operations import WriteOptions

        def approve() -> None:
            rt = self.server.registry.get("krr-mcp.io", "v1alpha1", "resourcerecommendations")
            assert rt is not None
            opts = WriteOptions(field_manager="kubectl-patch")
            body = {"spec": {"approved": True, "approvedBy": "bench"}}
            for name in names:
                self.server.ops.patch(rt, namespace, name, "merge", body, opts)

        self.call(approve)

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


class AuditCounts:
    """Requests one user sent to the real API server, by method (`GET`, `GET watch`, `PATCH`...), read
    incrementally from the audit log (one ResponseComplete event a request; watches at ResponseStarted).
    Reads like the sandbox's request Counter; `clear()` starts counting from now."""

    METHODS: ClassVar[dict[str, str]] = {
        "get": "GET", "list": "GET", "watch": "GET watch", "create": "POST", "update": "PUT",
        "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE",
    }  # fmt: skip

    def __init__(self, log: Path, user: str) -> None:
        self.log, self.user = log, user
        self.offset = log.stat().st_size if log.exists() else 0
        self.counts: dict[str, int] = {}

    def _read(self) -> dict[str, int]:
        import json

        if not self.log.exists():
            return self.counts
        if self.log.stat().st_size < self.offset:
            raise RuntimeError(f"{self.log} was rotated or truncated: requests would go uncounted")
        with self.log.open("rb") as stream:
            stream.seek(self.offset)
            for line in stream:
                if not line.endswith(b"\n"):
                    break  # a line being written: read it next time
                self.offset += len(line)
                if self.user.encode() not in line:
                    continue
                event = json.loads(line)
                verb = event.get("verb", "")
                wanted = "ResponseStarted" if verb == "watch" else "ResponseComplete"
                if event.get("user", {}).get("username") == self.user and event.get("stage") == wanted:
                    method = self.METHODS.get(verb, verb.upper())
                    self.counts[method] = self.counts.get(method, 0) + 1
        return self.counts

    def clear(self) -> None:
        self._read()
        self.counts = {}

    def items(self) -> Any:
        return self._read().items()

    def values(self) -> Any:
        return self._read().values()

    def keys(self) -> Any:
        return self._read().keys()

    def __getitem__(self, key: str) -> int:
        return self._read()[key]


CONTROLLER_MANAGER_ARGS = ("--kube-api-qps=200", "--kube-api-burst=400", "--concurrent-deployment-syncs=10")


class RealTarget:
    """The real control plane as the load runs see it (the CountingSandbox interface): the operator's
    kubeconfig, `requests` counted for the operator's user, an admin client for the ceiling."""

    name = "real control plane: kube-apiserver + etcd, operator ServiceAccount"

    def __init__(self, folder: Path) -> None:
        from krr_mcp.cluster.control_plane import ControlPlane
        from krr_mcp.cluster.identities import config_service_accounts
        from krr_mcp.cluster.install import install_config, single_context_kubeconfig

        # The Deployment controller must keep up with thousands of rollouts at once: at its client's
        # default rate the run would measure kube-controller-manager, not the operator.
        self.plane = ControlPlane(
            folder / "kubeconfig", nodes=3, controller_manager_args=CONTROLLER_MANAGER_ARGS
        ).start(timeout=180)
        install_config(self.plane.kubeconfig)
        operator = next(r for r in config_service_accounts() if r.name == "krr-mcp-operator")
        self.kubeconfig = single_context_kubeconfig(
            self.plane.kubeconfig, operator.context, folder / "operator.kubeconfig"
        )
        self.operator_user = operator.user
        self.requests = AuditCounts(self.plane.audit_log, operator.user)

    def _client(self, context: str) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.plane.kubeconfig), context=context)

    def api_client(self) -> Any:
        return self._client("admin")

    def count_admin(self) -> None:
        """From now on `requests` counts the admin's requests (the ceiling's plain client)."""
        self.requests = AuditCounts(self.plane.audit_log, "krr-mcp-admin")

    def apply(self, docs: list[dict[str, Any]]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from krr_mcp.cluster.control_plane import collection_path

        for doc in docs:
            if doc["kind"] == "Deployment":
                doc["spec"]["replicas"] = 0
            doc["metadata"].pop("generation", None)
        with self.plane.client() as http, ThreadPoolExecutor(16) as pool:

            def create(doc: dict[str, Any]) -> None:
                http.post(collection_path(doc), json=doc).raise_for_status()

            # Namespaces, workloads, then RRs: an RR whose workload does not exist yet is Stale for good.
            namespaces = [d for d in docs if d["kind"] == "Namespace"]
            for doc in namespaces:
                create(doc)
            rrs = [d for d in docs if d["kind"] == "ResourceRecommendation"]
            list(pool.map(create, [d for d in docs if d not in namespaces and d not in rrs]))
            list(pool.map(create, rrs))

    def phases(self, namespace: str) -> dict[str, int]:
        from collections import Counter

        from kubernetes import client

        with self.api_client() as api:
            listed = client.CustomObjectsApi(api).list_namespaced_custom_object(
                "krr-mcp.io", "v1alpha1", namespace, "resourcerecommendations"
            )
        items = listed["items"]  # type: ignore[index]
        counts: Counter[str] = Counter()
        for obj in items:
            status = obj.get("status") or {}
            counts[str(status.get("phase"))] += 1
            if any(h.get("outcome") == "Succeeded" for h in status.get("history") or []):
                counts["patched"] += 1
        return dict(counts)

    def approve_all(self, namespace: str, names: list[str]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from kubernetes import client

        body = {"spec": {"approved": True, "approvedBy": "alice"}}
        with self._client("alice") as api, ThreadPoolExecutor(16) as pool:
            objects = client.CustomObjectsApi(api)

            def approve(name: str) -> None:
                objects.patch_namespaced_custom_object(
                    "krr-mcp.io", "v1alpha1", namespace, "resourcerecommendations", name, body
                )

            list(pool.map(approve, names))

    def close(self) -> None:
        self.plane.stop()


def ready(proc: Any, port: int) -> bool:
    """The operator process answers /readyz with 200 (AssertionError when it exited)."""
    import httpx

    assert proc.poll() is None, "the operator exited"
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler:
    """The peak RSS of a process, sampled every 0.2 s in a background thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_kib(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.peak


def served(counts: dict[str, int]) -> int:
    """The requests in `counts` (method -> number), watches not counted."""
    return sum(v for k, v in counts.items() if "watch" not in k)


def wait_quiet(sandbox: Any, quiet: float = 3.0, timeout: float = 120.0) -> None:
    """Wait until the sandbox has served no request (watches aside) for `quiet` seconds."""
    deadline, last, since = time.monotonic() + timeout, served(sandbox.requests), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.25)
        if served(sandbox.requests) != last:
            last, since = served(sandbox.requests), time.monotonic()


def wait_until(what: str, probe: Any, timeout: float, progress: Any = None) -> float:
    """Poll `probe` until true; the time it became true. `progress()` is printed every 15 s."""
    started = time.monotonic()
    deadline, shown = started + timeout, started
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic()
        if progress is not None and time.monotonic() - shown > 15:
            shown = time.monotonic()
            print(f"  {what}: {shown - started:.0f} s, {progress()}", flush=True)
        time.sleep(0.25)
    raise TimeoutError(what)


def ceiling(sandbox: Any, n: int) -> tuple[float, int]:
    """The same writes per RR from a plain sequential client: (seconds, requests)."""
    namespace = "ceiling"
    if isinstance(sandbox, RealTarget):
        sandbox.count_admin()
    sandbox.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}])
    docs: list[dict[str, Any]] = []
    for i in range(n):
        w = workload(f"w{i}", 1)
        w["metadata"]["namespace"] = namespace
        # The real API server's admission policy refuses an RR created approved (by anyone): there the
        # stored RR stays unapproved; the ceiling decides on the approved body in memory either way.
        r = rr(f"r{i}", f"w{i}", 1, approved=not isinstance(sandbox, RealTarget))
        r["metadata"]["namespace"] = namespace
        docs += [w, r]
    sandbox.apply(docs)
    before = sum(sandbox.requests.values())
    with sandbox.api_client() as api:
        kube = Kube(api)
        started = time.monotonic()
        for i in range(n):
            live = kube.get_workload(namespace, "Deployment", f"w{i}")
            assert live is not None
            decision = decide(DecisionInputs(rr(f"r{i}", f"w{i}", 1), live, NOW, safety=SAFE))
            entry = {
                "action": "apply",
                "outcome": "Pending",
                "at": "2026-11-25T00:00:00Z",
                "actor": "bench",
                "containers": [c.model_dump(mode="json") for c in decision.changes],
            }
            kube.patch_rr_status(namespace, f"r{i}", {"phase": "Applying", "history": [entry]})
            kube.patch_workload(
                namespace, "Deployment", f"w{i}", json_patch("Deployment", live, decision.changes)
            )
            kube.patch_rr_status(namespace, f"r{i}", {"history": [{**entry, "outcome": "Succeeded"}]})
            kube.patch_rr_status(namespace, f"r{i}", {"phase": "Applied"})
        elapsed = time.monotonic() - started
    return elapsed, sum(sandbox.requests.values()) - before


def load_run(
    n: int, poll_interval: float, operator_args: list[str], target: str = "sandbox"
) -> dict[str, Any]:
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as folder:
        sandbox: Any = RealTarget(Path(folder)) if target == "real" else CountingSandbox(Path(folder))
        sandbox.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LOAD_NS}}])
        binary = Path(sys.executable).with_name("krr-mcp")
        from krr_mcp.cluster.control_plane import free_port

        probe_port = free_port()
        cmd = [str(binary), "operator", "--kubeconfig", str(sandbox.kubeconfig), "-n", LOAD_NS]
        cmd += ["--probe-port", str(probe_port)]
        if target != "real":  # the sandbox runs no admission policies; the real cluster has them installed
            cmd += ["--allow-without-admission-policy"]
        log_path = Path(tempfile.gettempdir()) / f"krr-mcp-load-operator-{target}-{n}.log"
        print(f"N={n}: the operator's log: {log_path}", flush=True)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*cmd, "--poll-interval", str(poll_interval), *operator_args], stdout=log, stderr=log,
                preexec_fn=die_with_parent,  # a stopped benchmark leaves no operator behind
            )  # fmt: skip
        try:
            wait_until("the operator's /readyz", lambda: ready(proc, probe_port), 60)
            time.sleep(1.0)  # its first list (nothing there yet) is done
            rss_idle = rss_kib(proc.pid)
            sampler = RssSampler(proc.pid)
            docs: list[dict[str, Any]] = []
            for i in range(n):
                w = workload(f"w{i}", 1)
                w["metadata"]["namespace"] = LOAD_NS
                r = rr(f"r{i}", f"w{i}", 1, approved=False)
                r["metadata"]["namespace"] = LOAD_NS
                docs += [w, r]
            sandbox.apply(docs)
            show = lambda: sandbox.phases(LOAD_NS)  # noqa: E731
            wait_until("all Proposed", lambda: sandbox.phases(LOAD_NS).get("Proposed", 0) == n, 120 + n, show)
            sandbox.requests.clear()
            started = time.monotonic()
            sandbox.approve_all(LOAD_NS, [f"r{i}" for i in range(n)])
            patched = wait_until(
                "all patched", lambda: sandbox.phases(LOAD_NS).get("patched", 0) == n, 60 + 2 * n, show
            )
            # Settled: Applied, or rolled back by itself (a rollout not seen done within its timeout):
            # a run where the operator falls behind ends, and says how many it rolled back.
            applied = wait_until(
                "all settled",
                lambda: sum(sandbox.phases(LOAD_NS).get(p, 0) for p in SETTLED) == n,
                60 + 2 * n,
                show,
            )
            settled = sandbox.phases(LOAD_NS)
            calls = dict(sandbox.requests)
            wait_quiet(sandbox)  # the operator has caught up with its own writes' events
            rss_settled = rss_kib(proc.pid)
            rss_peak = sampler.stop()
        finally:
            stopping = time.monotonic()
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            shutdown_s = time.monotonic() - stopping
        ceiling_s, ceiling_calls = ceiling(sandbox, n)
        sandbox.close()
    total = served(calls)
    return {
        "n": n,
        "patched_s": patched - started,
        "applied_s": applied - started,
        "not_applied": n - settled.get("Applied", 0),
        "calls_per_rr": total / n,
        "calls": calls,
        "rss_idle_mib": rss_idle / 1024,
        "rss_peak_kib_per_rr": (rss_peak - rss_idle) / n,
        "rss_settled_kib_per_rr": (rss_settled - rss_idle) / n,
        "ceiling_s": ceiling_s,
        "ceiling_calls_per_rr": ceiling_calls / n,
        "shutdown_s": shutdown_s,
        "exit_code": proc.returncode,
    }


def load_table(
    console: Console,
    sizes: list[int],
    poll_interval: float,
    operator_args: list[str],
    target: str = "sandbox",
) -> None:
    extra = f", {' '.join(operator_args)}" if operator_args else ""
    server = RealTarget.name if target == "real" else "sandbox over HTTP"
    table = Table(
        title=f"N RRs approved at once ({server}; operator process, poll {poll_interval:g} s{extra})"
    )
    for column in (
        "N",
        "all patched s",
        "all settled s (not Applied)",
        "ceiling s",
        "patched / ceiling",
        "API calls / RR",
        "ceiling calls / RR",
        "RSS idle MiB",
        "RSS peak growth KiB / RR",
        "RSS settled growth KiB / RR",
        "SIGTERM -> exit s",
    ):
        table.add_column(column, justify="right")
    for n in sizes:
        r = load_run(n, poll_interval, operator_args, target)
        console.print(f"N={n}: requests by method during the run: {r['calls']}")
        console.print(f"N={n}: {r}")
        table.add_row(
            str(n),
            f"{r['patched_s']:.1f}",
            f"{r['applied_s']:.1f}" + (f" ({r['not_applied']})" if r["not_applied"] else ""),
            f"{r['ceiling_s']:.1f}",
            f"{r['patched_s'] / r['ceiling_s']:.2f}x",
            f"{r['calls_per_rr']:.1f}",
            f"{r['ceiling_calls_per_rr']:.1f}",
            f"{r['rss_idle_mib']:.0f}",
            f"{r['rss_peak_kib_per_rr']:.1f}",
            f"{r['rss_settled_kib_per_rr']:.1f}",
            f"{r['shutdown_s']:.1f}" + ("" if r["exit_code"] == 0 else f" (killed, {r['exit_code']})"),
        )
    console.print(table)


if __name__ == "__main__":
    import argparse
    import logging
    import shlex

    import structlog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, nargs="+", metavar="N", help="RRs approved at once, per run")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="the operator's (load runs)")
    parser.add_argument(
        "--operator-args", default="", help="more `krr-mcp operator` options, e.g. '--worker-limit 0'"
    )
    parser.add_argument(
        "--target", choices=("sandbox", "real"), default="sandbox",
        help="the API server for load runs: the sandbox, or the real control plane (krr-mcp cluster build)",
    )  # fmt: skip
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("kopf").setLevel(logging.ERROR)
    out = Console(width=200) if args.load else Console()
    if args.load:
        load_table(out, args.load, args.poll_interval, shlex.split(args.operator_args), args.target)
    else:
        pure_table(out)
        end_to_end_table(out)
