"""Run the operator: kopf with the project's settings, in-process (tests) or as `krr-mcp operator`."""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import kopf
import structlog
from kubernetes import client

from krr_mcp.core.usage_recheck import DEFAULT_TOLERANCE_PERCENT
from krr_mcp.kube.client import OPERATOR_FIELD_MANAGER, Kube, load_configuration

from .approval_gate import APPROVAL_POLICY, FLAG, ApprovalGate
from .handlers import on_workload_change, register
from .health import ProbeServer
from .recheck import RecheckLoop
from .reconcile import Reconciler, ReconcileSettings
from .usage_reader import UsageSource
from .workload_watch import WorkloadWatch
from .write_ahead import Hook

log = structlog.get_logger("krr_mcp.operator")


@dataclass
class OperatorConfig:
    """Where and how the operator runs."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] = field(default_factory=list)  # empty: all namespaces
    poll_interval: float = 5.0
    idle_interval: float | None = None  # re-check of RRs awaiting approval; None: 12 poll intervals
    auto_rollback: bool = True
    standalone: bool = True  # no peering objects needed; set False with several replicas
    peering_name: str = "krr-mcp"
    # kopf pauses EVERY replica when peers share a priority; a distinct one per process lets the highest
    # act while the others wait (and take over once its peering entry is gone).
    peering_priority: int = field(default_factory=lambda: 1 + secrets.randbelow(2**31 - 2))
    liveness_endpoint: str | None = None  # e.g. http://0.0.0.0:8080/healthz (kopf's probe endpoint)
    probe_port: int | None = None  # serve /healthz, /readyz and /metrics here (health.ProbeServer)
    probe_host: str = "0.0.0.0"
    watch_timeout: int | None = None  # server-side watch timeout in seconds (short in tests)
    # How old (seconds) a namespace's quotas, limit ranges, HPAs, PDBs and policies may be when an RR
    # of it is checked (read once per namespace for this long, not once per RR); 0: always fresh.
    context_ttl: float = 2.0
    # RRs whose events kopf processes at once (kopf's per-object workers); bounds memory when many
    # RRs change together. None: no limit.
    worker_limit: int | None = 32
    reconcile_threads: int = 8  # reconciles running at once (each makes blocking API calls)
    hook: Hook | None = None
    halted: threading.Event = field(default_factory=threading.Event)  # set: stop acting at once
    # Apply approvals only while the approval admission policy is installed and denies (checked at
    # start-up and every `admission_check_interval` seconds); True: never checked (--allow-without-...).
    allow_without_admission_policy: bool = False
    admission_check_interval: float = 60.0
    # Re-read memory peaks from this Prometheus before applying (usage_recheck); None: not read.
    prometheus_url: str | None = None
    usage_tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT


def connection_info(configuration: client.Configuration) -> kopf.ConnectionInfo:
    """kopf's credentials from a kubernetes client Configuration (kubeconfig or in-cluster)."""
    auth = configuration.api_key.get("authorization") or configuration.api_key.get("BearerToken") or ""
    scheme, _, token = auth.partition(" ") if " " in auth else ("Bearer", "", auth)
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme if token else None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


def settings_for(cfg: OperatorConfig) -> kopf.OperatorSettings:
    """kopf settings: our own annotation prefix for progress, no status.kopf (the CRD prunes it)."""
    settings = kopf.OperatorSettings()
    settings.peering.standalone = cfg.standalone
    settings.peering.clusterwide = not cfg.namespaces
    settings.peering.priority = cfg.peering_priority
    settings.persistence.finalizer = "krr-mcp.io/operator"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kopf.krr-mcp.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="kopf.krr-mcp.io", key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # our own Events say what happened
    settings.posting.reporting_component = OPERATOR_FIELD_MANAGER
    settings.watching.server_timeout = cfg.watch_timeout
    settings.watching.client_timeout = cfg.watch_timeout + 5 if cfg.watch_timeout else None
    settings.queueing.worker_limit = cfg.worker_limit
    settings.queueing.idle_timeout = 0.25  # a worker slot is freed soon after its RR's last event
    settings.queueing.exit_timeout = 1.0
    return settings


def build(
    cfg: OperatorConfig, executor: ThreadPoolExecutor | None = None
) -> tuple[kopf.OperatorRegistry, kopf.OperatorSettings, Reconciler, RecheckLoop | None]:
    """The registry (handlers + login), settings, reconciler and (standalone) the re-check loop for
    `cfg`; reconciles run in `executor`. With peering, kopf's per-RR timers re-check (kopf pauses them)."""
    configuration = load_configuration(cfg.kubeconfig, cfg.context)
    kube = Kube(client.ApiClient(configuration))
    settings = ReconcileSettings(
        auto_rollback=cfg.auto_rollback,
        hook=cfg.hook,
        halted=cfg.halted,
        context_ttl=cfg.context_ttl,
        approval_gate=ApprovalGate(required=not cfg.allow_without_admission_policy),
        usage_source=UsageSource(cfg.prometheus_url, tolerance_percent=cfg.usage_tolerance_percent)
        if cfg.prometheus_url
        else None,
    )
    reconciler = Reconciler(kube, settings)
    registry = kopf.OperatorRegistry()

    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(configuration)

    kopf.on.login(id="kubeconfig", registry=registry)(login)
    rechecks = register(
        registry,
        reconciler,
        cfg.poll_interval,
        cfg.idle_interval,
        executor,
        per_object_timers=not cfg.standalone,
        max_rechecks=cfg.reconcile_threads,
    )
    operator_settings = settings_for(cfg)
    if executor is not None:
        operator_settings.execution.executor = executor
    return registry, operator_settings, reconciler, rechecks


def _check_gate(reconciler: Reconciler) -> None:
    """Re-read the approval admission policy; log when the answer changes."""
    gate = reconciler.settings.approval_gate
    before = gate.problem
    problem = gate.refresh(reconciler.kube)
    if problem != before:
        if problem:
            log.warning("approvals are not applied", why=problem, flag=FLAG)
        else:
            log.info("approval admission policy enforced", policy=APPROVAL_POLICY)


async def _watch_gate(reconciler: Reconciler, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(_check_gate, reconciler)


async def run(
    cfg: OperatorConfig,
    *,
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | threading.Event | None = None,
) -> None:
    """Run until `stop_flag` is set (or the task is cancelled)."""
    executor = ThreadPoolExecutor(max_workers=cfg.reconcile_threads, thread_name_prefix="krr-reconcile")
    registry, settings, reconciler, rechecks = build(cfg, executor)
    gate = reconciler.settings.approval_gate
    if gate.required:
        await asyncio.to_thread(_check_gate, reconciler)  # before any RR is looked at
    else:
        log.warning("approval admission policy not checked", flag=FLAG, why="approvals are not verified")
    gate_task = (
        asyncio.create_task(_watch_gate(reconciler, cfg.admission_check_interval), name="approval-gate")
        if gate.required
        else None
    )
    recheck_task = asyncio.create_task(rechecks.run(), name="rechecks") if rechecks is not None else None
    changed = on_workload_change(reconciler, asyncio.get_running_loop(), executor)
    watch_stop = threading.Event()
    WorkloadWatch(
        reconciler.kube, cfg.namespaces or None, changed, watch_stop, timeout_seconds=cfg.watch_timeout or 60
    ).start()
    ready = ready_flag if ready_flag is not None else threading.Event()
    probes = ProbeServer(ready, cfg.halted) if cfg.probe_port is not None else None
    if probes is not None and cfg.probe_port is not None:
        await probes.start(cfg.probe_host, cfg.probe_port)
    try:
        await kopf.operator(
            registry=registry,
            settings=settings,
            standalone=cfg.standalone,
            peering_name=None if cfg.standalone else cfg.peering_name,  # a name makes peering mandatory
            liveness_endpoint=cfg.liveness_endpoint,
            clusterwide=not cfg.namespaces,
            namespaces=cfg.namespaces,
            stop_flag=stop_flag,
            ready_flag=ready,
        )
    finally:
        cfg.halted.set()
        watch_stop.set()
        background = [t for t in (recheck_task, gate_task) if t is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        executor.shutdown(wait=False, cancel_futures=True)  # the running reconciles finish, no backlog
        if probes is not None:
            await probes.stop()
