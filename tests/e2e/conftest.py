"""The real-cluster suite (marker `e2e`): a kind cluster, the image built from the Dockerfile, config/
installed with `kubectl apply -k`. Where there is no reachable Docker daemon or no `kind` binary, every
e2e test is skipped with the reason; nothing here is simulated."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import IMAGE, ROOT, E2ECluster


@functools.cache
def missing_capability() -> str | None:
    """Why the e2e suite cannot run here (every missing piece), or None when it can."""
    missing = []
    if shutil.which("kind") is None:
        missing.append("kind is not on PATH (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
    if shutil.which("docker") is None:
        missing.append("the docker CLI is not on PATH")
    else:
        try:
            info = subprocess.run(
                ["docker", "info", "--format", "{{.ServerVersion}}"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            missing.append("`docker info` did not answer within 30 s")
        else:
            if info.returncode != 0 or not info.stdout.strip():
                said = (info.stderr.strip().splitlines() or ["no server version"])[-1]
                missing.append(f"no reachable Docker daemon (`docker info`: {said})")
    return "; ".join(missing) or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if not e2e:
        return
    reason = missing_capability()
    if reason:
        for item in e2e:
            item.add_marker(pytest.mark.skip(reason=f"e2e needs Docker and kind: {reason}"))


def _run(args: list[str], timeout: int) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def kind_e2e(request: pytest.FixtureRequest) -> Iterator[E2ECluster]:
    """A kind cluster with the image loaded and config/overlays/dev installed and running.

    Uses pytest-kind's KindCluster with the kind binary on PATH (never downloaded) and the project's
    kubectl. pytest-kind's options apply: --cluster-name, --keep-cluster (reuse it next run).
    """
    from pytest_kind import KindCluster

    name = request.config.getoption("cluster_name")
    if name == "pytest-kind":  # pytest-kind's default: give ours a name of its own
        name = "krr-mcp-e2e"
    keep = bool(request.config.getoption("keep_cluster"))
    workdir = Path(tempfile.mkdtemp(prefix="krr-mcp-e2e-"))
    kind = shutil.which("kind")
    assert kind is not None
    with contextlib.chdir(workdir):  # KindCluster makes a .pytest-kind/ folder in the working directory
        kind_cluster = KindCluster(
            name,
            kubeconfig=workdir / "kubeconfig",
            kind_path=Path(kind),
            kubectl_path=ROOT / ".venv" / "bin" / "kubectl",
        )
    _run(["docker", "build", "--tag", IMAGE, str(ROOT)], timeout=1800)
    kind_cluster.create()
    try:
        kind_cluster.load_docker_image(IMAGE)
        cluster = E2ECluster(kind_cluster)
        cluster.install()
        yield cluster
    finally:
        if not keep and not os.environ.get("KRR_MCP_E2E_KEEP"):
            kind_cluster.delete()
        shutil.rmtree(workdir, ignore_errors=True)
