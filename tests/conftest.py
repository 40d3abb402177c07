"""Shared fixtures. The sandbox API server's fixtures come from its own pytest plugin, so tests and
`krr-mcp sandbox` run one implementation.

In CI (CI=true) or with KRR_MCP_REQUIRE_REAL_CLUSTER=1 the real-cluster suite must run: the session fails
when no `realcluster` test passed or any was skipped (tests/realcluster/conftest.py builds nothing; .ci/run
builds the control plane first)."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["krr_mcp.sandbox.testing"]

_REAL_CLUSTER_REQUIRED = (
    os.environ.get("CI") == "true" or os.environ.get("KRR_MCP_REQUIRE_REAL_CLUSTER") == "1"
)
_real_cluster_outcomes: dict[str, int] = {"passed": 0, "skipped": 0, "failed": 0}


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
