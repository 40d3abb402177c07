"""`krr-mcp operator`: run the approval-loop operator against a kubeconfig or the in-cluster config."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer


def _configure_logging(verbose: bool) -> None:
    import structlog

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")
    if not verbose:  # kopf reports every timer tick at INFO; our audit lines say what happened
        logging.getLogger("kopf").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        logger_factory=structlog.PrintLoggerFactory(),
    )


def operator(
    kubeconfig: Annotated[
        str | None, typer.Option(help="Kubeconfig file (default: in-cluster, then ~/.kube/config).")
    ] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Watch only these namespaces.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace.")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between checks of rollouts and expiries.")
    ] = 5.0,
    idle_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between re-checks of RRs awaiting approval (expiry, drift, safety); "
            "default 12 poll intervals. Approvals are acted on at once regardless."
        ),
    ] = None,
    context_ttl: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds a namespace's quotas, limit ranges, HPAs, PDBs and policies are reused by the "
            "safety check (read once per namespace, not per RR); 0: read fresh for every RR.",
        ),
    ] = 2.0,
    worker_limit: Annotated[
        int,
        typer.Option(min=0, help="RRs whose events are processed at once (bounds memory); 0: no limit."),
    ] = 32,
    reconcile_threads: Annotated[
        int, typer.Option(min=1, help="Reconciles running at once (each makes blocking API calls).")
    ] = 8,
    auto_rollback: Annotated[bool, typer.Option(help="Roll back by itself when a rollout fails.")] = True,
    peering: Annotated[bool, typer.Option(help="Use kopf peering (several replicas, one active).")] = False,
    liveness: Annotated[
        str | None,
        typer.Option(help="Serve kopf's liveness endpoint for probes, e.g. http://0.0.0.0:8080/healthz."),
    ] = None,
    probe_port: Annotated[
        int | None,
        typer.Option(help="Serve /healthz, /readyz and Prometheus /metrics on this port (all interfaces)."),
    ] = None,
    allow_without_admission_policy: Annotated[
        bool,
        typer.Option(
            "--allow-without-admission-policy",
            help="Apply approvals even when the approval admission policy (krr-mcp-recommendation-approval,"
            " with a Deny binding) is not installed: only for clusters that cannot run admission policies;"
            " then nothing verifies who approved (docs/trust-model.md).",
        ),
    ] = False,
    admission_check_interval: Annotated[
        float,
        typer.Option(min=1, help="Seconds between checks that the approval admission policy is installed."),
    ] = 60.0,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            help="Re-read each container's memory peak from this Prometheus right before applying, over "
            "the RR's history window: refuse a memory request or limit below it, or a recorded peak that "
            "disagrees with it (off by default; docs/trust-model.md).",
        ),
    ] = None,
    usage_tolerance_percent: Annotated[
        float,
        typer.Option(min=0, help="How far (% of Prometheus' peak) the RR's recorded peak may be from it."),
    ] = 25.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the operator: apply ResourceRecommendations a human approved, follow rollouts, roll back."""
    from krr_operator.main import OperatorConfig, run

    if namespace and all_namespaces:
        typer.echo("use either --namespace or --all-namespaces", err=True)
        raise typer.Exit(2)
    _configure_logging(verbose)
    cfg = OperatorConfig(
        kubeconfig=kubeconfig,
        context=context,
        namespaces=list(namespace or []),
        poll_interval=poll_interval,
        idle_interval=idle_interval,
        context_ttl=context_ttl,
        worker_limit=worker_limit or None,
        reconcile_threads=reconcile_threads,
        auto_rollback=auto_rollback,
        standalone=not peering,
        liveness_endpoint=liveness,
        probe_port=probe_port,
        allow_without_admission_policy=allow_without_admission_policy,
        admission_check_interval=admission_check_interval,
        prometheus_url=prometheus_url,
        usage_tolerance_percent=usage_tolerance_percent,
    )
    try:
        asyncio.run(run(cfg))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # kubeconfig missing or unreadable: one clear line, not a traceback
        typer.echo(f"krr-mcp operator: {exc}", err=True)
        raise typer.Exit(1) from None
