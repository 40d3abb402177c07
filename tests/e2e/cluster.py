"""A real cluster driven with the real kubectl: install config/, act as a given identity, wait for things."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "krr-mcp:dev"  # what config/overlays/dev runs (imagePullPolicy Never: loaded into kind)
SYSTEM_NAMESPACE = "krr-mcp-system"
BRIDGE_USER = f"system:serviceaccount:{SYSTEM_NAMESPACE}:krr-mcp-bridge"
OPERATOR_USER = f"system:serviceaccount:{SYSTEM_NAMESPACE}:krr-mcp-operator"
BRIDGE_TOKEN = "e2e-" + os.urandom(16).hex()  # at least 16 characters, different every run


class E2ECluster:
    """kubectl against one kubeconfig; `as_user` impersonates (the kind admin may impersonate anyone)."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind  # pytest_kind.KindCluster: port_forward(...) reaches Services
        self.kubeconfig = Path(kind.kubeconfig_path)
        self.kubectl_path = Path(kind.kubectl_path)

    def kubectl(
        self,
        *args: str,
        as_user: str | None = None,
        as_groups: tuple[str, ...] = (),
        stdin: str | None = None,
        check: bool = True,
        timeout: int = 120,
    ) -> subprocess.CompletedProcess[str]:
        identity = [f"--as={as_user}"] if as_user else []
        identity += [f"--as-group={group}" for group in as_groups]
        done = subprocess.run(
            [str(self.kubectl_path), f"--kubeconfig={self.kubeconfig}", *identity, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} (as {as_user or 'admin'}) failed:\n{done.stderr}")
        return done

    def get(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", *args, "-o", "json").stdout))

    def apply(self, manifest: dict[str, Any], as_user: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", stdin=json.dumps(manifest), as_user=as_user)

    def install(self) -> None:
        """The bridge's token Secret first (the bridge does not start without it), then config/overlays/dev
        (server-side apply: the CRDs are too large for the last-applied annotation); wait until both
        components are available."""
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}})
        secret = {"name": "krr-mcp-bridge-token", "namespace": SYSTEM_NAMESPACE}
        self.apply(
            {"apiVersion": "v1", "kind": "Secret", "metadata": secret, "stringData": {"token": BRIDGE_TOKEN}}
        )
        self.kubectl(
            "apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "config" / "overlays" / "dev")
        )
        for deployment in ("krr-mcp-operator", "krr-mcp-bridge"):
            done = self.kubectl(
                "-n", SYSTEM_NAMESPACE, "rollout", "status", f"deployment/{deployment}", "--timeout=300s",
                check=False, timeout=330,
            )  # fmt: skip
            if done.returncode != 0:
                raise AssertionError(
                    f"{deployment} did not become available:\n{done.stderr}\n{self.diagnostics()}"
                )
        # A kept cluster (--keep-cluster) runs pods that read an older token: restart them.
        self.kubectl("-n", SYSTEM_NAMESPACE, "rollout", "restart", "deployment/krr-mcp-bridge")
        self.kubectl(
            "-n",
            SYSTEM_NAMESPACE,
            "rollout",
            "status",
            "deployment/krr-mcp-bridge",
            "--timeout=300s",
            timeout=330,
        )

    def wait_for(self, what: str, probe: Any, timeout: float = 180, interval: float = 2) -> Any:
        """Poll `probe()` until it returns something truthy; fail with the cluster's state otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}\n{self.diagnostics()}"
                )
            time.sleep(interval)

    def diagnostics(self) -> str:
        """What a failing run needs to be understood: pods, recent events, the operator's last log lines."""
        parts = []
        for args in (
            ("get", "pods,recommendations", "-A", "-o", "wide"),
            ("get", "events", "-A", "--sort-by=.lastTimestamp"),
            ("-n", SYSTEM_NAMESPACE, "logs", "deployment/krr-mcp-operator", "--tail=80"),
            ("-n", SYSTEM_NAMESPACE, "logs", "deployment/krr-mcp-bridge", "--tail=40"),
        ):
            done = self.kubectl(*args, check=False)
            parts.append(f"$ kubectl {' '.join(args)}\n{done.stdout[-6000:]}{done.stderr[-2000:]}")
        return "\n".join(parts)
