"""Shared fixtures. The sandbox API server's fixtures come from its own pytest plugin, so tests and
`krr-mcp sandbox` run one implementation.

In CI (CI=true) or with KRR_MCP_REQUIRE_REAL_CLUSTER=1 the real-cluster suite must run: the session fails
when no `realcluster` test passed or any was skipped (nothing here builds; .ci/run builds the control plane
first). Elsewhere, every `realcluster` test (in any folder) skips with the reason when the control plane's
binaries are not built."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["krr_mcp.sandbox.testing"]

_REAL_CLUSTER_REQUIRED = (
    os.environ.get("CI") == "true" or os.environ.get("KRR_MCP_REQUIRE_REAL_CLUSTER") == "1"
)
_real_cluster_outcomes: dict[str, int] = {"passed": 0, "skipped": 0, "failed": 0}


def real_cluster_unavailable() -> str | None:
    """Why no real control plane can start here (its binaries are not built), or None."""
    from krr_mcp.cluster import binaries

    try:
        binaries.find()
    except binaries.BuildError as exc:
        return str(exc)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.get_closest_marker("realcluster")]
    if not ours or _REAL_CLUSTER_REQUIRED:
        return
    reason = real_cluster_unavailable()
    if reason:
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=f"no real control plane here: {reason}"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "realcluster" not in report.keywords:
        return
    if report.when == "call" and report.passed:
        _real_cluster_outcomes["passed"] += 1
    elif report.skipped:
        _real_cluster_outcomes["skipped"] += 1
    elif report.failed:
        _real_cluster_outcomes["failed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _REAL_CLUSTER_REQUIRED or session.config.option.collectonly:
        return
    passed, skipped = _real_cluster_outcomes["passed"], _real_cluster_outcomes["skipped"]
    if passed == 0 or skipped:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        line = f"the real-cluster suite must run here: {passed} passed, {skipped} skipped"
        if reporter is not None:
            reporter.write_line(f"ERROR: {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
