"""The real-cluster suite (marker `e2e`): a kind cluster, the image built from the Dockerfile, config/
installed with `kubectl apply -k`. Where there is no reachable Docker daemon or no `kind` binary, every
e2e test is skipped with the reason; nothing here is simulated."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import IMAGE, ROOT, E2ECluster


def kind_binary(config: pytest.Config) -> str | None:
    """pytest-kind's --kind-bin, else `kind` on PATH (never downloaded: nothing may download at run time)."""
    given = config.getoption("kind_bin", None)
    return str(given) if given else shutil.which("kind")


@functools.cache
def missing_capability(kind: str | None) -> str | None:
    """Why the e2e suite cannot run here (every missing piece), or None when it can."""
    missing = []
    if kind is None or not Path(kind).exists():
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
    reason = missing_capability(kind_binary(config))
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

    pytest-kind's KindCluster drives it, with pytest-kind's options: --cluster-name, --keep-cluster (keep
    it, and reuse it next run), --kind-bin (default: kind on PATH), --kind-kubectl-bin (default: the
    project's kubectl), --kind-image (the node image; Kubernetes 1.30+ for the admission policy).
    """
    from pytest_kind import KindCluster

    config = request.config
    name = config.getoption("cluster_name")
    if name == "pytest-kind":  # pytest-kind's default: give ours a name of its own
        name = "krr-mcp-e2e"
    keep = bool(config.getoption("keep_cluster"))
    kind = kind_binary(config)
    assert kind is not None
    kubectl = config.getoption("kind_kubectl_bin") or ROOT / ".venv" / "bin" / "kubectl"
    workdir = Path(tempfile.mkdtemp(prefix="krr-mcp-e2e-"))
    kubeconfig = workdir / "kubeconfig"
    with contextlib.chdir(workdir):  # KindCluster makes a .pytest-kind/ folder in the working directory
        kind_cluster = KindCluster(
            name,
            kubeconfig=kubeconfig,
            image=config.getoption("kind_image"),
            kind_path=Path(kind),
            kubectl_path=Path(kubectl),
        )
    _run(["docker", "build", "--tag", IMAGE, str(ROOT)], timeout=1800)
    # A kept cluster from an earlier run: its kubeconfig first (KindCluster reads it after `create`).
    subprocess.run(
        [kind, "export", "kubeconfig", f"--name={name}", f"--kubeconfig={kubeconfig}"],
        capture_output=True,
        check=False,
    )
    kind_cluster.create()
    try:
        kind_cluster.load_docker_image(IMAGE)
        cluster = E2ECluster(kind_cluster)
        cluster.install()
        yield cluster
    finally:
        if not keep:
            kind_cluster.delete()
        shutil.rmtree(workdir, ignore_errors=True)
