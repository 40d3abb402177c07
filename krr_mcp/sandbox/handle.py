"""A sandbox running in a background thread with its own event loop: what the pytest fixtures, the demo
and the benchmark use from synchronous code (or from another event loop, such as kopf's)."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .kubeconfig import CONTEXT, write_kubeconfig
from .launch import Crds, Seed, start_sandbox
from .server import SandboxServer

T = TypeVar("T")
KUBECTL = os.environ.get("KRR_MCP_KUBECTL", "kubectl")
APPLY_CHUNK = 250  # objects applied per call on the server's loop


class SandboxHandle:
    """A running sandbox in a background thread: its URL, kubeconfig and ways to talk to it."""

    def __init__(
        self, kubeconfig: Path, seed: Seed = "none", crds: Crds = None, **server_options: Any
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="krr-mcp-sandbox", daemon=True)
        self._thread.start()
        self.server: SandboxServer = self._run(start_sandbox(seed=seed, crds=crds, **server_options))
        self.url = self.server.url
        self.kubeconfig = write_kubeconfig(kubeconfig, self.url)
        self.kube_cache = kubeconfig.parent / f"kube-cache-{self.url.rsplit(':', 1)[1]}"
        self.context = CONTEXT

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn()` on the server's loop (direct access to server.store / server.ops); return its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self.server.stop())
        self._run(_cancel_leftovers())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # -- clients -----------------------------------------------------------------------------------
    def api_client(self) -> Any:
        """A kubernetes.client.ApiClient for this sandbox (close it when done, or use it in `with`)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context=CONTEXT)

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        binary: str | None = None,
        timeout: float = 60,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this sandbox; stdout/stderr captured as text.

        kubectl caches discovery per host:port (~/.kube/cache), and sandboxes reuse free ports: a cache left
        by an earlier sandbox on the same port would describe other kinds. So each handle has its own
        cache folder (`self.kube_cache`, also in `self.env()` for kubectl run by hand)."""
        cmd = [binary or KUBECTL, "--kubeconfig", str(self.kubeconfig), *args]
        return subprocess.run(
            cmd, input=input, capture_output=True, text=True, timeout=timeout, check=check, env=self.env()
        )

    def env(self) -> dict[str, str]:
        """os.environ plus KUBECONFIG and KUBECACHEDIR for this sandbox (for kubectl started by a test)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.kube_cache)}

    def set_user(self, name: str, groups: Iterable[str] | None = None) -> None:
        """The identity SelfSubjectReview (`kubectl auth whoami`) reports from now on."""
        self.call(lambda: self.server.set_user(name, groups))

    def apply(self, *documents: dict[str, Any] | str) -> list[dict[str, Any]]:
        """Create or replace objects directly (dicts or YAML text), bypassing HTTP; in order, a few hundred
        per turn of the server's loop (so thousands, as the benchmarks create, neither hold the loop nor
        exceed `call`'s timeout)."""
        docs: list[dict[str, Any]] = []
        for doc in documents:
            if isinstance(doc, str):
                docs.extend(d for d in yaml.safe_load_all(doc) if isinstance(d, dict))
            else:
                docs.append(doc)
        docs.sort(key=lambda d: d.get("kind") != "CustomResourceDefinition")  # their kinds exist first
        applied: list[dict[str, Any]] = []
        for lo in range(0, max(1, len(docs)), APPLY_CHUNK):
            applied += self.call(functools.partial(self.server.apply_documents, docs[lo : lo + APPLY_CHUNK]))
        return applied

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        """The stored object (a copy), or None."""

        def read() -> dict[str, Any] | None:
            rt = self.server.registry.by_kind(api_version, kind)
            if rt is None:
                return None
            obj = self.server.store.get(rt.storage_key, namespace if rt.namespaced else "", name)
            return self.server.ops.output(rt, obj) if obj is not None else None

        return self.call(read)


async def _cancel_leftovers() -> None:
    """Cancel what is still pending on the server's loop (connection handlers) before the loop closes."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
