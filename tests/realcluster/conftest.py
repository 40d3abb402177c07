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

from ..conftest import real_cluster_unavailable
from .cluster import RealCluster


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
