"""filter_recommendations on krr's recorded output."""

from __future__ import annotations

import json
import pathlib

import pytest

from krr_mcp.recommenders import (
    ScanFilters,
    SelectorError,
    filter_recommendations,
    parse_recommendations,
)

REFERENCE = pathlib.Path(__file__).parent / "data"  # krr's recorded outputs (see data/README.md)


@pytest.fixture
def result():  # type: ignore[no-untyped-def]
    doc = json.loads((REFERENCE / "example-output-not-enough-data.json").read_text())
    return parse_recommendations(json.dumps(doc))


def _names(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return sorted((i.name, i.container) for i in result.items)


@pytest.mark.parametrize(
    "filters, expected",
    [
        (ScanFilters(), [("api", "api"), ("web", "app"), ("web", "nginx")]),
        (ScanFilters(namespaces=["billing"]), [("api", "api")]),
        (ScanFilters(names=["w*"]), [("web", "app"), ("web", "nginx")]),
        (ScanFilters(kinds=["deployment"]), [("api", "api"), ("web", "app"), ("web", "nginx")]),
        (ScanFilters(kinds=["StatefulSet"]), []),
        (ScanFilters(containers=["nginx"]), [("web", "nginx")]),
        (ScanFilters(min_severity="CRITICAL"), [("web", "app")]),
        (ScanFilters(min_severity="WARNING"), [("web", "app"), ("web", "nginx")]),
        (ScanFilters(include_missing_data=False), [("web", "app"), ("web", "nginx")]),
        (ScanFilters(label_selector="team=storefront"), [("web", "app"), ("web", "nginx")]),
        (ScanFilters(label_selector="app!=web"), [("api", "api")]),
        (ScanFilters(label_selector="team"), [("web", "app"), ("web", "nginx")]),
        (ScanFilters(label_selector="!team"), [("api", "api")]),
        # app saves 0.586 cores; nginx 0.048 cores and 28Mi; api is unknown (never counts as savings).
        (ScanFilters(min_cpu_savings_cores=0.5), [("web", "app")]),
        (ScanFilters(min_cpu_savings_cores=0.01), [("web", "app"), ("web", "nginx")]),
        (ScanFilters(min_memory_savings_bytes=400 * 2**20), [("web", "app")]),
        (
            ScanFilters(min_cpu_savings_cores=5, min_memory_savings_bytes=20 * 2**20),
            [("web", "app"), ("web", "nginx")],
        ),
        (ScanFilters(namespaces=["shop"], min_severity="CRITICAL", containers=["nginx"]), []),
    ],
)
def test_filters(result, filters: ScanFilters, expected: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    filtered = filter_recommendations(result, filters)
    assert _names(filtered) == expected
    assert filtered.summary.containers == len(expected)
    assert filtered.source == result.source


def test_summary_is_recomputed(result) -> None:  # type: ignore[no-untyped-def]
    filtered = filter_recommendations(result, ScanFilters(include_missing_data=False))
    assert filtered.summary.missing_data == 0 and result.summary.missing_data == 1
    assert filtered.summary.by_severity == {"WARNING": 1, "CRITICAL": 1}


@pytest.mark.parametrize("selector", ["a=b,,c=d", "=x", "a b=c"])
def test_bad_selector(result, selector: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SelectorError):
        filter_recommendations(result, ScanFilters(label_selector=selector))
