"""parse_recommendations on krr's recorded outputs and on hostile or broken variants of them."""

from __future__ import annotations

import copy
import json
import pathlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.recommenders import KrrOutputError, parse_recommendations
from krr_mcp.recommenders.krr_output import MAX_OUTPUT_BYTES

REFERENCE = pathlib.Path(__file__).parent / "data"  # krr's recorded outputs (see data/README.md)


def _text(name: str) -> str:
    return (REFERENCE / name).read_text()


def _doc(name: str = "example-output.json") -> dict[str, Any]:
    return json.loads(_text(name))


def _by_name(result: Any) -> dict[tuple[str, str], Any]:
    return {(i.name, i.container): i for i in result.items}


def test_example_output_becomes_three_proposable_containers() -> None:
    result = parse_recommendations(_text("example-output.json"))
    assert result.source == "krr"
    assert result.strategy == "simple"
    assert result.settings["cpu_percentile"] == 95.0
    assert result.score == 20
    items = _by_name(result)
    assert set(items) == {("web", "nginx"), ("web", "app"), ("api", "api")}
    app = items["web", "app"]
    assert app.namespace == "shop" and app.kind == "Deployment"
    assert app.severity == "CRITICAL"
    assert app.current.model_dump(exclude_none=True) == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"memory": "1Gi"},
    }
    # 621805568 bytes = 593Mi; no CPU limit (krr's simple strategy leaves it unset).
    assert app.recommended is not None
    assert app.recommended.model_dump(exclude_none=True) == {
        "requests": {"cpu": "414m", "memory": "593Mi"},
        "limits": {"memory": "593Mi"},
    }
    assert app.severities == {
        "requests.cpu": "CRITICAL",
        "requests.memory": "WARNING",
        "limits.cpu": "GOOD",
        "limits.memory": "WARNING",
    }
    assert app.labels == {"app": "web", "team": "storefront"}
    nginx = items["web", "nginx"]
    assert nginx.recommended is not None and nginx.recommended.requests.memory == "100Mi"
    assert nginx.current.limits.cpu == "500m"
    api = items["api", "api"]
    assert [p.deleted for p in api.pods] == [False, True]
    assert all(i.proposable for i in result.items)
    assert result.summary.containers == 3 and result.summary.proposable == 3
    assert result.summary.by_severity == {"WARNING": 2, "CRITICAL": 1}
    # savings = current - recommended requests: (0.1-0.052) + (1-0.414) + (0.5-0.137) cores
    assert result.summary.cpu_request_savings_cores == pytest.approx(0.997)


def test_not_enough_data_is_unknown_and_never_proposable() -> None:
    result = parse_recommendations(_text("example-output-not-enough-data.json"))
    api = _by_name(result)["api", "api"]
    assert api.severity == "UNKNOWN"
    assert api.unknown == ["cpu", "memory"]
    assert api.recommended is None
    assert api.info == {"cpu": "Not enough data", "memory": "Not enough data"}
    assert api.missing_data and not api.proposable
    assert result.summary.missing_data == 1 and result.summary.proposable == 2


def test_older_format_without_labels_or_cluster_summary() -> None:
    result = parse_recommendations(_text("real-output.json"))
    items = _by_name(result)
    assert len(items) == 4
    worker = items["worker", "worker"]
    assert worker.current.model_dump(exclude_none=True) == {"requests": {}, "limits": {}}
    assert worker.recommended is not None
    assert worker.recommended.requests.memory == "1125Mi"  # 1179648000 bytes
    assert worker.labels == {} and worker.annotations == {}
    assert result.settings["cpu_percentile"] == 99.0


def test_csv_fixture_with_string_allocations_and_absurd_values_is_refused_per_container() -> None:
    result = parse_recommendations(_text("test_csv_formatter.RESULT.json"))
    # "50m"/"2048Mi" allocations parse, but a 0.5-byte memory recommendation is not krr's.
    assert result.items == []
    [error] = result.errors
    assert error.path == "$.scans[0].recommended.requests.memory.value"
    assert "below 1Mi" in error.message
    assert error.name == "mock-object-1"
    with pytest.raises(KrrOutputError) as exc:
        parse_recommendations(_text("test_csv_formatter.RESULT.json"), strict=True)
    assert exc.value.path == "$.scans[0].recommended.requests.memory.value"


def test_string_allocations_are_parsed() -> None:
    doc = _doc()
    doc["scans"][0]["object"]["allocations"]["requests"] = {"cpu": "50m", "memory": "2048Mi"}
    item = parse_recommendations(json.dumps(doc)).items[0]
    assert item.current.requests.cpu == "50m" and item.current.requests.memory == "2Gi"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ('{"scans": [', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"score": 3}', "missing field 'scans'"),
        ('{"scans": {}}', "expected a list"),
        ("Traceback (most recent call last):", "not valid JSON"),
    ],
)
def test_broken_documents_raise(text: str, message: str) -> None:
    with pytest.raises(KrrOutputError, match=message):
        parse_recommendations(text)


def test_truncated_output_names_the_position() -> None:
    text = _text("example-output.json")
    with pytest.raises(KrrOutputError, match=r"not valid JSON .* line \d+ column \d+"):
        parse_recommendations(text[: len(text) // 2])


def test_size_cap() -> None:
    huge = '{"scans": [], "pad": "' + "x" * (MAX_OUTPUT_BYTES + 10) + '"}'
    with pytest.raises(KrrOutputError, match=r"over the \d+-byte cap"):
        parse_recommendations(huge)
    with pytest.raises(KrrOutputError, match="cap"):
        parse_recommendations(_text("example-output.json"), max_bytes=100)


def _mutate(path: list[Any], value: Any, delete: bool = False) -> str:
    doc = _doc()
    target = doc
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc)


REC_CPU = ["scans", 1, "recommended", "requests", "cpu", "value"]


@pytest.mark.parametrize(
    "path, value, delete, expected_path, message",
    [
        (REC_CPU, float("nan"), False, "$.scans[1].recommended.requests.cpu.value", "not a finite"),
        (REC_CPU, float("inf"), False, "$.scans[1].recommended.requests.cpu.value", "not a finite"),
        (REC_CPU, -0.5, False, "$.scans[1].recommended.requests.cpu.value", "negative"),
        (REC_CPU, 1e12, False, "$.scans[1].recommended.requests.cpu.value", "sanity ceiling"),
        (REC_CPU, "lots", False, "$.scans[1].recommended.requests.cpu.value", "not a Kubernetes quantity"),
        (REC_CPU, True, False, "$.scans[1].recommended.requests.cpu.value", "expected a number"),
        (REC_CPU, 0, False, "$.scans[1].recommended.requests.cpu.value", "below 1m"),
        (
            ["scans", 1, "recommended", "limits", "memory", "value"],
            50.0 * 1024 * 1024,
            False,
            "$.scans[1].recommended.limits.memory",
            "below the request",
        ),
        (
            ["scans", 1, "recommended", "requests", "cpu", "severity"],
            "PANIC",
            False,
            "$.scans[1].recommended.requests.cpu.severity",
            "unknown severity",
        ),
        (["scans", 1, "severity"], "MEH", False, "$.scans[1].severity", "unknown severity"),
        (["scans", 1, "object", "namespace"], None, True, "$.scans[1].object.namespace", "missing field"),
        (["scans", 1, "object", "container"], 7, False, "$.scans[1].object.container", "expected str"),
        (["scans", 1, "object", "name"], "a b", False, "$.scans[1].object.name", "not a Kubernetes name"),
        (
            ["scans", 1, "recommended", "requests", "memory"],
            None,
            True,
            "$.scans[1].recommended.requests.memory",
            "missing field",
        ),
        (
            ["scans", 1, "object", "allocations", "limits", "memory"],
            -1,
            False,
            "$.scans[1].object.allocations.limits.memory",
            "negative",
        ),
        (
            ["scans", 1, "object", "hpa"],
            {"max_replicas": -3},
            False,
            "$.scans[1].object.hpa.max_replicas",
            "non-negative",
        ),
        (["scans", 1], "not an object", False, "$.scans[1]", "expected dict"),
    ],
)
def test_hostile_values_never_become_recommendations(
    path: list[Any], value: Any, delete: bool, expected_path: str, message: str
) -> None:
    text = _mutate(path, value, delete)
    result = parse_recommendations(text)
    # The bad scan is refused, the other two are intact.
    assert [(i.name, i.container) for i in result.items] == [("web", "nginx"), ("api", "api")]
    [error] = result.errors
    assert error.path == expected_path
    assert message in error.message
    with pytest.raises(KrrOutputError) as exc:
        parse_recommendations(text, strict=True)
    assert exc.value.path == expected_path
    assert message in str(exc.value)


def test_nan_literal_in_raw_text_is_refused_with_its_path() -> None:
    text = _text("example-output.json").replace('"value": 0.414', '"value": NaN', 1)
    result = parse_recommendations(text)
    assert result.errors[0].path == "$.scans[1].recommended.requests.cpu.value"
    assert len(result.items) == 2


def test_duplicate_containers_lose_their_recommendations() -> None:
    doc = _doc()
    twin = copy.deepcopy(doc["scans"][0])
    twin["recommended"]["requests"]["cpu"]["value"] = 0.9
    doc["scans"].append(twin)
    result = parse_recommendations(json.dumps(doc))
    nginx = [i for i in result.items if i.container == "nginx"]
    assert len(nginx) == 2
    assert all(i.recommended is None and not i.proposable for i in nginx)
    assert "duplicate container shop/Deployment/web/nginx" in (nginx[0].error or "")
    assert "$.scans[0], $.scans[3]" in (nginx[0].error or "")
    assert result.summary.proposable == 2
    with pytest.raises(KrrOutputError, match="duplicate"):
        parse_recommendations(json.dumps(doc), strict=True)


def test_krr_reported_errors_are_kept() -> None:
    doc = _doc()
    doc["errors"] = [{"name": "SomethingNew", "detail": "x"}]
    result = parse_recommendations(json.dumps(doc))
    assert result.errors[0].message == "krr reported: name=SomethingNew, detail=x"
    assert len(result.items) == 3 and result.summary.errors == 1


def test_krr_history_warnings_are_warnings_as_in_krr() -> None:
    """krr appends HistoryRangeError (no prometheus_tsdb_head_series, e.g. backfilled data) and
    NotEnoughHistoryAvailable to `errors` and goes on scanning: warnings, not scan errors."""
    doc = _doc()
    doc["errors"] = [
        {"name": "HistoryRangeError"},
        {"name": "NotEnoughHistoryAvailable", "retry_after": "2026-12-05T10:00:00"},
    ]
    result = parse_recommendations(json.dumps(doc))
    assert result.errors == [] and result.summary.errors == 0
    assert result.summary.proposable == 3
    history, not_enough = (w.message for w in result.warnings)
    assert history.startswith("krr warned: HistoryRangeError: krr could not check how much history")
    assert "assumed the history is sufficient" in history
    assert "after 2026-12-05T10:00:00" in not_enough


def test_hundred_megabyte_output_is_refused_quickly() -> None:
    blob = b'{"scans": [' + b'{"object": {}},' * (100 * 1024 * 1024 // 15) + b"{}]}"
    assert len(blob) > 100 * 1024 * 1024
    with pytest.raises(KrrOutputError, match="cap"):
        parse_recommendations(blob)


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))] + [path]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))] + [path]
    return [path]


_SCANS = _doc()["scans"]
_PATHS = [p for p in _leaf_paths(_SCANS) if p]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["?", "50m", "1Gi", "-1", "NaN", "1e400", "GOOD", "UNKNOWN"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(_PATHS), _JSON), min_size=1, max_size=3))
def test_mutated_output_never_crashes_and_never_proposes_nonsense(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    scans = copy.deepcopy(_SCANS)
    for path, value in edits:
        target = scans
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        result = parse_recommendations(json.dumps({"scans": scans}))
    except KrrOutputError:
        return
    for item in result.items:
        if not item.proposable:
            continue
        assert item.recommended is not None and item.error is None and not item.unknown
        for part in (item.recommended.requests, item.recommended.limits):
            if part.cpu is not None:
                assert parse_resource_quantity(part.cpu, "cpu") >= Decimal("0.001")
            if part.memory is not None:
                assert parse_resource_quantity(part.memory, "memory") >= 2**20
