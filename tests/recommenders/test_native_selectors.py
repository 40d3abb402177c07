"""The batched queries ask Prometheus for the known containers by name, never with `!=""`.

`container!=""` and `pod!=""` made Prometheus read every value of those labels in the whole TSDB for
each namespace's query (docs/recommenders.md, "Benchmark"); the engine now sends an exact set matcher of
the container names it scans. The set must match those names literally: a hostile name (`.*`) must not
widen it to the pod-level cgroup series real cAdvisor has (`container=""`), and an empty name must not
make it match series without the label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from krr_mcp.metrics_history import WorkloadSpec
from krr_mcp.recommenders import ScanRequest, get_recommendations
from krr_mcp.recommenders.promapi import PrometheusApi
from krr_mcp.recommenders.promql import (
    metric_query,
    quote,
    regex_alternatives,
    selector,
    set_chunks,
)

from .conftest import GoldenPrometheus, _serve
from .golden_cluster import END, START, _c, _pod, golden_spec
from .test_native_golden import _check

HOSTILE = [".*", "a|b", "x\\", "(", "[a-z]+", "^$", "{1}", "-dash-", "ünï", 'q"t', "new\nline"]


@pytest.mark.parametrize("name", HOSTILE)
def test_each_name_is_a_literal(name: str) -> None:
    # Python's re agrees with RE2 on these escapes; fullmatch is Prometheus' anchoring.
    pattern = re.compile(regex_alternatives([name, "app"]), re.DOTALL)
    assert pattern.fullmatch(name) and pattern.fullmatch("app")
    for other in ("", "appx", "a", "b", "x", "abc", name + name, "dash"):
        if other not in (name, "app"):
            assert not pattern.fullmatch(other), other


def test_only_prometheus_set_match_metacharacters_are_escaped() -> None:
    # Prometheus 2.42 (tsdb findSetMatches) gives up its exact-postings fast path when anything else,
    # such as the `-` of every generated pod name, is escaped.
    assert regex_alternatives(["web-5c7d.x", "a_b:c/d"]) == "web-5c7d\\.x|a_b:c/d"


def test_set_chunks_drop_empty_names_and_bound_each_set() -> None:
    assert set_chunks(["b", "", "a", "b"]) == [["a", "b"]]
    assert set_chunks([f"c{i:02d}" for i in range(5)], size=2) == [["c00", "c01"], ["c02", "c03"], ["c04"]]
    assert set_chunks([""]) == []
    for bad in ([], ["app", ""]):
        with pytest.raises(ValueError):
            selector("shop", None, None, bad)


def test_batched_selector_has_no_not_empty_matchers() -> None:
    sel = selector("shop", None, None, ["app", "nginx"])
    assert sel == 'namespace="shop",container=~"app|nginx"'
    for metric in ("cpu_percentile", "cpu_peak", "cpu_range", "cpu_points", "memory_peak", "oomkill"):
        assert '!=""' not in metric_query(metric, sel, "1d", "60s", 95)
    assert quote('a\nb\t"c\\') == '"a\\nb\\t\\"c\\\\"'  # a raw newline would end the PromQL string


@pytest.fixture(scope="module")
def edge_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldenPrometheus]:
    """One Deployment whose containers are `app` and `.*`, and whose pod has the pod-level cgroup
    series real cAdvisor has (container="", same pod)."""
    edge = WorkloadSpec(
        "edge", "Deployment", "web",
        containers=(_c("app", 0.2, 300), _c(".*", 0.05, 100), _c("", 0.9, 2000)),
        pods=(_pod("web-6f7d8c9b5-k2p4x", "ReplicaSet", "web-6f7d8c9b5"),),
        controllers={"web-6f7d8c9b5": (START, END)},
    )  # fmt: skip
    yield from _serve(replace(golden_spec(), workloads=(edge,)), tmp_path_factory)


async def test_pod_level_series_never_reach_the_engine(
    edge_prometheus: GoldenPrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[tuple[str, list[dict[str, Any]]]] = []
    query, query_range = PrometheusApi.query, PrometheusApi.query_range

    async def recorded_query(self: PrometheusApi, promql: str, at: datetime) -> list[dict[str, Any]]:
        result = await query(self, promql, at)
        answered.append((promql, result))
        return result

    async def recorded_range(self: PrometheusApi, promql: str, *args: Any) -> list[dict[str, Any]]:
        result = await query_range(self, promql, *args)
        answered.append((promql, result))
        return result

    monkeypatch.setattr(PrometheusApi, "query", recorded_query)
    monkeypatch.setattr(PrometheusApi, "query_range", recorded_range)
    for strategy in ("simple", "simple_limit"):
        answered.clear()
        request = ScanRequest(
            source="native",
            prometheus_url=edge_prometheus.url,
            history_hours=edge_prometheus.history_hours,
            end_time=edge_prometheus.at,
            strategy=strategy,  # type: ignore[arg-type]
        )
        result = await get_recommendations(request)
        loaders = [(q, r) for q, r in answered if "container_cpu_usage" in q or "container_memory" in q]
        assert loaders
        assert all('!=""' not in q for q, _ in loaders)
        # Prometheus itself sent only the two containers' series: not the pod's cgroup (container="",
        # the largest usage here), which an unescaped `.*` would have matched.
        assert {s["metric"].get("container") for _, r in loaders for s in r} == {"app", ".*"}
        if strategy == "simple":
            named = replace(
                edge_prometheus.spec,
                workloads=tuple(
                    replace(w, containers=tuple(c for c in w.containers if c.name))
                    for w in edge_prometheus.spec.workloads
                ),
            )
            _check(replace(edge_prometheus, spec=named), result.items)
