"""Starting what the demo needs, each in the background: the sandbox cluster, Prometheus, the operator.

Each starter registers its cleanup on an ExitStack, so an interrupted or failed demo leaves nothing
running. A component another part of the project has not delivered raises ComponentMissing, naming it.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from .narrator import StepFailed


class ComponentMissing(StepFailed):
    """A part of krr-mcp the demo needs is not installed or not built yet."""


def component(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ComponentMissing(f"{what} is missing: cannot import {module} ({exc})") from None


def attribute(module: str, name: str, what: str) -> object:
    found = getattr(component(module, what), name, None)
    if found is None:
        raise ComponentMissing(f"{what} is missing: {module}.{name} does not exist")
    return found


@dataclass
class LocalCluster:
    kubeconfig: str
    url: str
    version: str = ""  # the real control plane's Kubernetes version (as pinned)
    audit_log: Path | None = None  # the real API server's audit log (who changed what)


def start_sandbox(stack: ExitStack, kubeconfig: Path) -> LocalCluster:
    """The seeded sandbox API server (krr_mcp.sandbox.run_sandbox) on its own loop in a background
    thread; it writes `kubeconfig` and stops when `stack` closes."""
    run_sandbox = cast(
        Callable[..., Awaitable[None]],
        attribute("krr_mcp.sandbox.launch", "run_sandbox", "the sandbox API server"),
    )
    project_crds = cast(Callable[[], list[Any]], attribute("krr_mcp.api", "project_crds", "the CRDs"))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready: Future[LocalCluster] = Future()

    def on_ready(url: str, path: Path) -> None:
        ready.set_result(LocalCluster(kubeconfig=str(path), url=url))

    async def serve() -> None:
        try:
            await run_sandbox(
                kubeconfig=kubeconfig, seed="default", crds=project_crds(), on_ready=on_ready, stop=stop
            )
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(),), name="demo-sandbox", daemon=True
    )
    thread.start()

    def shutdown() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)

    stack.callback(shutdown)
    return ready.result(timeout=30)


def start_real_cluster(stack: ExitStack, kubeconfig: Path, say: Callable[[str], None]) -> LocalCluster:
    """A real control plane (krr_mcp.cluster: etcd, kube-apiserver, kube-controller-manager,
    kube-scheduler and kwok with 3 fake nodes) writing `kubeconfig` (one context per identity), with
    config/default installed as admin; every process stops and its data folder goes when `stack` closes.
    ComponentMissing when its binaries are not built, StepFailed when it does not come up."""
    from krr_mcp.cluster import binaries
    from krr_mcp.cluster.control_plane import ClusterError, ControlPlane
    from krr_mcp.cluster.install import InstallError, install_config

    try:
        binaries.find()
    except binaries.BuildError as exc:
        raise ComponentMissing(f"the real control plane is not built here: {exc}") from None
    plane = ControlPlane(kubeconfig, nodes=3, say=say)
    stack.callback(plane.stop)
    try:
        began = time.monotonic()
        plane.start(timeout=180)
        say(f"control plane up, 3 kwok nodes Ready: {time.monotonic() - began:.1f}s")
        began = time.monotonic()
        install_config(kubeconfig)
        say(f"config/default installed (kubectl apply --server-side -k): {time.monotonic() - began:.1f}s")
    except (ClusterError, InstallError, OSError) as exc:
        raise StepFailed(f"the real control plane did not come up: {exc}") from None
    # Built from Go modules without release ldflags, the server's /version says v0.0.0: the pin says more.
    version = binaries.pinned_version("k8s.io/kubernetes") or "version unknown"
    return LocalCluster(str(kubeconfig), plane.url, version=version, audit_log=plane.audit_log)


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def start_prometheus(
    stack: ExitStack, workloads: list[dict[str, Any]], pods: dict[Any, list[Any]] | None = None
) -> str:
    """A real Prometheus loaded with generated usage history for `workloads` (and the pods that really
    run them, history.running_pods); its URL."""
    component("krr_mcp.metrics_history", "the metrics history generator (krr_mcp.metrics_history)")
    from .history import demo_prometheus

    end = int(time.time()) // 60 * 60  # up to now: the scan reads which pods run now
    return str(stack.enter_context(demo_prometheus(workloads, end, pods)))


def start_operator(
    stack: ExitStack, kubeconfig: str, context: str | None, log_path: Path, *, sandbox: bool
) -> None:
    """The kopf operator (krr_operator.main.run) on its own loop in a background thread, logging to
    `log_path`; stopped when `stack` closes. StepFailed when it does not come up. On the `sandbox`,
    which runs no admission policies, it is told explicitly not to require the approval policy
    (docs/sandbox.md); anywhere else it requires it, as installed."""
    main = component("krr_operator.main", "the operator (krr_operator)")
    _log_to_file(log_path)
    cfg = main.OperatorConfig(
        kubeconfig=kubeconfig, context=context, poll_interval=0.5, allow_without_admission_policy=sandbox
    )
    stop, ready = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(main.run(cfg, stop_flag=stop, ready_flag=ready))
        except BaseException as exc:
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=serve, name="demo-operator", daemon=True)
    thread.start()

    def shutdown() -> None:
        stop.set()
        thread.join(timeout=10)

    stack.callback(shutdown)
    if not ready.wait(timeout=30):
        raise StepFailed(f"the operator did not become ready within 30s (log: {log_path})")
    if failures:
        raise StepFailed(f"the operator failed to start: {failures[0]!r} (log: {log_path})")


def _log_to_file(path: Path) -> None:
    """The operator's structlog JSON lines and kopf's warnings go to `path`, not over the narration."""
    import logging

    import structlog

    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("a", buffering=1)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("kopf", "krr_operator"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=stream),
    )
