"""The real-cluster suite (marker `realcluster`): a real kube-apiserver, etcd, kube-controller-manager,
kube-scheduler and kwok built from Go modules (`krr-mcp cluster build`), started once per session, with
config/default applied as admin by the real kubectl. Where the binaries are not built (no Go), every
test here skips with the reason; in CI (CI=true) or with KRR_MCP_REQUIRE_REAL_CLUSTER=1 it fails instead,
and the session fails unless the suite ran."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from krr_mcp.cluster import binaries
from krr_mcp.cluster.control_plane import ControlPlane
from krr_mcp.cluster.install import install_config

from .cluster import RealCluster

REQUIRED = os.environ.get("CI") == "true" or os.environ.get("KRR_MCP_REQUIRE_REAL_CLUSTER") == "1"


def _unavailable() -> str | None:
    try:
        binaries.find()
    except binaries.BuildError as exc:
        return str(exc)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.get_closest_marker("realcluster")]
    if not ours:
        return
    reason = _unavailable()
    if reason and not REQUIRED:
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=f"no real control plane here: {reason}"))


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """One control plane for the session (3 kwok nodes), config/default installed as admin."""
    reason = _unavailable()
    if reason:
        pytest.fail(f"the real-cluster suite must run here but cannot: {reason}")
    folder: Path = tmp_path_factory.mktemp("realcluster")
    plane = ControlPlane(folder / "kubeconfig", nodes=3).start()
    try:
        install_config(plane.kubeconfig)
        yield RealCluster(plane)
    finally:
        plane.stop()
