"""Start a seeded sandbox: used by `krr-mcp sandbox`, the demo and the pytest fixtures."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from .controllers import WORKLOADS, rollout_status
from .kubeconfig import write_kubeconfig
from .operations import now_iso
from .seed import SYSTEM_NAMESPACES, crd_files, default_objects, namespace
from .server import SandboxServer

Seed = Literal["default", "none"]
# The CRDs a sandbox serves from the start: documents (the launcher's: `krr_mcp.api.project_crds()` for
# ours), a folder of YAML files, or None.
Crds = Iterable[dict[str, Any]] | Path | None
DEFAULT_KUBECONFIG = Path(".krr-mcp/sandbox.kubeconfig")  # also in krr_mcp/commands/sandbox.py


def _with_ready_status(obj: dict[str, Any]) -> dict[str, Any]:
    api_group = obj.get("apiVersion", "").split("/")[0]
    plural = obj.get("kind", "").lower() + "s"
    if (api_group, plural) in WORKLOADS:
        ready = dict(obj, metadata={**obj["metadata"], "generation": 1})
        return dict(obj, status=rollout_status(ready, "done", now_iso()))
    return obj


def seed_server(server: SandboxServer, seed: Seed = "default", crds: Crds = None) -> None:
    """Load the system namespaces, the CRDs (`crds`: documents, a folder of YAML files, or None: none)
    and, with seed="default", the sample workloads (already rolled out). Runs on the server's loop."""
    server.apply_documents([namespace(n) for n in SYSTEM_NAMESPACES])
    if isinstance(crds, Path):
        server.load_yaml_files(crd_files(crds))
    elif crds is not None:
        server.apply_documents(list(crds))
    if seed == "default":
        server.apply_documents([_with_ready_status(o) for o in default_objects()])


async def start_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: Seed = "default",
    crds: Crds = None,
    user: str | None = None,
    **server_options: Any,
) -> SandboxServer:
    """A started, seeded SandboxServer on the running loop."""
    server = SandboxServer(**server_options)
    if user:
        server.set_user(user)
    await server.start(host, port)
    seed_server(server, seed, crds)
    return server


async def run_sandbox(
    *,
    port: int = 0,
    kubeconfig: Path = DEFAULT_KUBECONFIG,
    seed: Seed = "default",
    user: str | None = None,
    crds: Crds = None,
    on_ready: Callable[[str, Path], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a sandbox until `stop` is set or SIGINT/SIGTERM arrives; write its kubeconfig first and call
    `on_ready(url, kubeconfig)` once it serves. Open watches are closed on the way out."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    server = await start_sandbox(port=port, seed=seed, crds=crds, user=user)
    try:
        path = write_kubeconfig(kubeconfig, server.url)
        if on_ready is not None:
            on_ready(server.url, path)
        await stop.wait()
    finally:
        await server.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
