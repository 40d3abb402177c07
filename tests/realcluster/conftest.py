"""The real-cluster suite (marker `realcluster`): a real kube-apiserver, etcd, kube-controller-manager,
kube-scheduler and kwok built from Go modules (`krr-mcp cluster build`), started once per session, with
config/default applied as admin by the real kubectl. Where the binaries are not built (no Go), every
test here skips with the reason (tests/conftest.py); in CI (CI=true) or with KRR_MCP_REQUIRE_REAL_CLUSTER=1
it fails instead, and the session fails unless the suite ran."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from krr_mcp.cluster.control_plane import ControlPlane
from krr_mcp.cluster.install import install_config
from krr_mcp.sandbox.testing import SandboxHandle

from ..conftest import real_cluster_unavailable
from .cluster import RealCluster
from .servers import ApiServer, http_client


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """One control plane for the session (3 kwok nodes), config/default installed as admin."""
    reason = real_cluster_unavailable()
    if reason:
        pytest.fail(f"the real-cluster suite must run here but cannot: {reason}")
    folder: Path = tmp_path_factory.mktemp("realcluster")
    plane = ControlPlane(folder / "kubeconfig", nodes=3).start()
    try:
        install_config(plane.kubeconfig)
        yield RealCluster(plane)
    finally:
        plane.stop()


# -- parity: one test body against the sandbox and the real control plane --------------------------------
REAL = pytest.param("real", id="real", marks=pytest.mark.realcluster)
SERVERS = [pytest.param("sandbox", id="sandbox"), REAL]


def sandbox_differs(reason: str) -> pytest.MarkDecorator:
    """Run on both servers, the sandbox's run an expected failure (strict: a sandbox fix is noticed).
    Each such difference is listed in docs/sandbox.md."""
    sandbox = pytest.param("sandbox", id="sandbox", marks=pytest.mark.xfail(strict=True, reason=reason))
    return pytest.mark.parametrize("api_server", [sandbox, REAL], indirect=True)


@pytest.fixture(params=SERVERS)
def api_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiServer]:
    """The sandbox (a fresh one) or the session's real control plane, as admin; objects go to `ns`."""
    if request.param == "real":
        cluster: RealCluster = request.getfixturevalue("real_cluster")
        kubeconfig, context, etcd_url = cluster.kubeconfig, "admin", cluster.plane.etcd_url
    else:
        handle: SandboxHandle = request.getfixturevalue("sandbox")
        kubeconfig, context, etcd_url = handle.kubeconfig, handle.context, None
    http = http_client(kubeconfig, context, tmp_path / "certs")
    server = ApiServer(request.param, kubeconfig, context, tmp_path / "kube-cache", http, etcd_url)
    try:
        yield server
    finally:
        server.cleanup()
        http.close()


@pytest.fixture
def ns(api_server: ApiServer) -> str:
    """A fresh namespace on `api_server`."""
    return api_server.new_namespace()
