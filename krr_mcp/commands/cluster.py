"""`krr-mcp cluster build|start`: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok) on loopback, built from the pinned Go modules in hack/controlplane/."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="A real Kubernetes control plane on this machine (built from Go modules).")
DEFAULT_KUBECONFIG = Path(".krr-mcp/cluster.kubeconfig")


@app.callback()
def _group() -> None:
    """A real Kubernetes control plane on this machine (built from Go modules)."""


@app.command("build")
def build() -> None:
    """Build the pinned binaries into the cache (skips what is built); print what it built and how long."""
    from krr_mcp.cluster import binaries

    try:
        binaries.build(say=typer.echo)
    except binaries.BuildError as exc:
        typer.echo(f"krr-mcp cluster build: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("start")
def start(
    kubeconfig: Annotated[
        Path, typer.Option(help="Where to write the kubeconfig (one context per identity).")
    ] = DEFAULT_KUBECONFIG,
    nodes: Annotated[int, typer.Option(min=1, max=1000, help="Fake nodes (kwok).")] = 3,
    port: Annotated[int, typer.Option(help="kube-apiserver's port on 127.0.0.1 (0: any free port).")] = 0,
    install: Annotated[
        bool,
        typer.Option(
            "--install/--bare", help="Apply config/default (CRDs, RBAC, admission policies, components)."
        ),
    ] = True,
    build_first: Annotated[
        bool, typer.Option("--build/--no-build", help="Build the binaries first when they are not cached.")
    ] = True,
    bin_dir: Annotated[
        Path | None, typer.Option(help="Use binaries from this folder instead of the cache.")
    ] = None,
) -> None:
    """Start the control plane; print one ready line; stop everything on SIGINT/SIGTERM (exit 0)."""
    from krr_mcp.cluster import binaries, identities
    from krr_mcp.cluster.control_plane import ClusterError, ControlPlane
    from krr_mcp.cluster.install import InstallError, install_config

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if build_first and bin_dir is None:
            binaries.build(say=lambda line: typer.echo(line, err=True))
        plane = ControlPlane(kubeconfig.absolute(), nodes=nodes, port=port, bin_dir=bin_dir).start()
    except (binaries.BuildError, ClusterError, OSError) as exc:
        typer.echo(f"krr-mcp cluster: cannot start: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        if install:
            install_config(plane.kubeconfig)
        contexts = ", ".join(identities.contexts())
        typer.echo(
            f"krr-mcp cluster ready: {plane.url} ({nodes} kwok nodes; "
            f"{'config/default installed' if install else 'bare'}; kubeconfig: {plane.kubeconfig}; "
            f"contexts: {contexts}; try: kubectl --kubeconfig {plane.kubeconfig} --context alice "
            "get recommendations -A)"
        )
        while not stop.wait(1):
            dead = plane.dead_components()
            if dead:
                typer.echo(f"krr-mcp cluster: {', '.join(dead)} exited; stopping", err=True)
                raise typer.Exit(1)
    except InstallError as exc:
        typer.echo(f"krr-mcp cluster: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        plane.stop()
