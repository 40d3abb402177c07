"""Synthetic Prometheus history: OpenMetrics generator, promtool loader, a Prometheus process runner.

Used by the recommenders' tests (a real Prometheus with known data), the scan benchmark and the demo.
"""

from .openmetrics import container_samples, iter_openmetrics, write_openmetrics
from .spec import (
    ContainerSpec,
    HistorySpec,
    HpaSpec,
    PodSpec,
    WorkloadSpec,
    synthetic_cluster,
    workload_objects,
)
from .tsdb import PrometheusProcess, TsdbError, build_tsdb, create_blocks

__all__ = [
    "ContainerSpec",
    "HistorySpec",
    "HpaSpec",
    "PodSpec",
    "PrometheusProcess",
    "TsdbError",
    "WorkloadSpec",
    "build_tsdb",
    "container_samples",
    "create_blocks",
    "iter_openmetrics",
    "synthetic_cluster",
    "workload_objects",
    "write_openmetrics",
]
