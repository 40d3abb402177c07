"""The real control plane as the tests drive it: kubectl as a named identity, objects as JSON."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from krr_mcp.cluster.control_plane import ControlPlane, free_port
from krr_mcp.cluster.install import kubectl_binary, single_context_kubeconfig


class RealCluster:
    """A started ControlPlane with config/default installed. Every call names the identity (context)
    it acts as: admin, alice, bob, viewer, krr-mcp-bridge, krr-mcp-operator, ci-deployer."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.kubeconfig: Path = plane.kubeconfig
        self.url = plane.url

    def kubectl(
        self,
        *args: str,
        context: str = "admin",
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [kubectl_binary(), f"--kubeconfig={self.kubeconfig}", f"--context={context}", *args],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} (as {context}) failed:\n{done.stderr}")
        return done

    def apply(
        self, *manifests: dict[str, Any], context: str = "admin", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        document = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifests)})
        return self.kubectl("apply", "-f", "-", context=context, stdin=document, check=check)

    def get(self, *args: str, context: str = "admin") -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", *args, "-o", "json", context=context).stdout))

    def diagnostics(self, namespace: str) -> str:
        """What a failing real-cluster test needs to be understood: the namespace's pods, ReplicaSets and
        recommendations, recent events, and each component's last log lines."""
        parts = []
        for args in (("get", "pods,replicasets,recommendations", "-o", "wide"), ("get", "events")):
            done = self.kubectl("-n", namespace, *args, check=False)
            parts.append(
                f"$ kubectl -n {namespace} {' '.join(args)}\n{done.stdout[-4000:]}{done.stderr[-1000:]}"
            )
        parts += [f"--- {c.name} log\n{c.tail(20)}" for c in self.plane.components]
        return "\n".join(parts)

    def env(self, context: str) -> dict[str, str]:
        """An environment whose kubeconfig and current context are `context`'s (for a component run as
        its own process)."""
        path = self.kubeconfig.with_name(f"{self.kubeconfig.stem}-{context}.kubeconfig")
        if not path.exists():
            single_context_kubeconfig(self.kubeconfig, context, path)
        return dict(os.environ, KUBECONFIG=str(path))

    def kubeconfig_for(self, context: str) -> Path:
        """A kubeconfig holding only `context` (as current): what a component is given."""
        return Path(self.env(context)["KUBECONFIG"])


KRR_MCP = Path(sys.executable).parent / "krr-mcp"


@contextlib.contextmanager
def operator_process(cluster: RealCluster, log: Path, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`krr-mcp operator` as its own process with only the operator ServiceAccount's kubeconfig (and
    `options`), ready (its /readyz answers) on entry, stopped on exit; its log is printed then."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(KRR_MCP), "operator", "--kubeconfig", str(cluster.kubeconfig_for("krr-mcp-operator")),
             "--probe-port", str(port), *options],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                tail = log.read_text()[-3000:]
                raise AssertionError(f"the operator exited ({process.returncode}):\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"the operator was not ready in 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        process.wait(30)
        print(log.read_text()[-30000:])
