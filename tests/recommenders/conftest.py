"""A real Prometheus, once per session, on the golden cluster's history (krr_mcp.metrics_history)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from krr_mcp.metrics_history import HistorySpec, PrometheusProcess, build_tsdb

from .golden_cluster import EVAL_AT, HISTORY_HOURS, golden_spec


@dataclass
class GoldenPrometheus:
    url: str
    spec: HistorySpec
    at: datetime
    history_hours: int
    process: PrometheusProcess


def _serve(spec: HistorySpec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldenPrometheus]:
    if shutil.which("prometheus") is None and not Path("/usr/bin/prometheus").exists():
        pytest.skip("prometheus is not installed (Debian package 'prometheus')")
    tsdb = build_tsdb(spec, tmp_path_factory.mktemp("golden-prometheus"))
    process = PrometheusProcess(tsdb)
    process.start()
    try:
        yield GoldenPrometheus(
            process.url, spec, datetime.fromtimestamp(EVAL_AT, UTC), HISTORY_HOURS, process
        )
    finally:
        process.stop()


@pytest.fixture(scope="session")
def golden_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldenPrometheus]:
    """Prometheus serving the golden cluster's history; stopped at the end of the session."""
    yield from _serve(golden_spec(), tmp_path_factory)


@pytest.fixture(scope="session")
def prometheus_without_ksm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldenPrometheus]:
    """The golden cluster's cAdvisor series only: kube-state-metrics was never installed."""
    yield from _serve(replace(golden_spec(), kube_state_metrics=False), tmp_path_factory)
