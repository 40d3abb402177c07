"""Scanning from a saved report (source "report"): krr's -f json output or a saved ScanResult."""

from __future__ import annotations

import json
import os
import pathlib
from datetime import UTC, datetime

import pytest

from krr_mcp.recommenders import (
    ReportError,
    ScanRequest,
    get_recommendations,
    load_report,
    parse_recommendations,
    save_report,
)

DATA = pathlib.Path(__file__).parent / "data"
RECORDED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _numbers(result: object) -> list[dict]:
    return [i.model_dump(mode="json") for i in result.items]  # type: ignore[attr-defined]


def _krr_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "krr.json"
    path.write_text((DATA / "example-output.json").read_text())
    os.utime(path, (RECORDED.timestamp(), RECORDED.timestamp()))
    return path


def test_krr_output_is_parsed_by_the_krr_parser_and_marked_as_a_report(tmp_path: pathlib.Path) -> None:
    path = _krr_copy(tmp_path)
    result = load_report(path)
    assert result.source == "report"
    assert _numbers(result) == _numbers(parse_recommendations(path.read_text()))
    assert result.report is not None
    assert result.report.format == "krr-json" and result.report.recorded_source == "krr"
    assert result.report.path == str(path) and result.report.recorded_at == RECORDED
    assert result.report.recorded_at_from == "file modification time"
    assert result.scanned_at == RECORDED


def test_a_saved_scan_result_reads_back_with_the_same_numbers(tmp_path: pathlib.Path) -> None:
    original = parse_recommendations((DATA / "example-output.json").read_text())
    original = original.model_copy(update={"scanned_at": RECORDED})
    save_report(original, tmp_path / "scan.json")
    back = load_report(tmp_path / "scan.json")
    assert _numbers(back) == _numbers(original)
    assert back.settings == original.settings and back.summary == original.summary
    assert back.report is not None and back.report.format == "scan-result"
    assert back.report.recorded_source == "krr" and back.report.recorded_at == RECORDED


def _saved(tmp_path: pathlib.Path) -> dict:
    save_report(parse_recommendations((DATA / "example-output.json").read_text()), tmp_path / "s.json")
    return json.loads((tmp_path / "s.json").read_text())


def test_a_saved_scan_result_cannot_forge_proposable_or_its_summary(tmp_path: pathlib.Path) -> None:
    doc = _saved(tmp_path)
    doc["items"][0]["recommended"] = None
    doc["items"][0]["proposable"] = True
    doc["summary"]["proposable"] = 99
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    result = load_report(tmp_path / "forged.json")
    assert result.items[0].proposable is False
    assert result.summary.proposable == len(doc["items"]) - 1


def test_a_container_listed_twice_in_a_saved_result_loses_its_recommendation(tmp_path: pathlib.Path) -> None:
    doc = _saved(tmp_path)
    doc["items"].append(doc["items"][0])
    (tmp_path / "twice.json").write_text(json.dumps(doc))
    result = load_report(tmp_path / "twice.json")
    twice = [i for i in result.items if i.container == doc["items"][0]["container"]]
    assert len(twice) == 2 and all(not i.proposable and "duplicate" in (i.error or "") for i in twice)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"scans": [', "not valid JSON"),
        (b'{"items": [], "source": "native", "summary": {"containers": NaN}}', "not valid JSON"),
        (b"[1, 2]", "neither krr's -f json output"),
        (b'{"scans": {}}', "saved krr report"),
        (b'{"items": [{"namespace": "a"}], "source": "native"}', "not a krr-mcp scan result"),
        (b'{"items": [], "source": "native", "admin": true}', "not a krr-mcp scan result"),
    ],
)
def test_an_unusable_report_is_refused_with_a_clear_error(
    tmp_path: pathlib.Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReportError, match=message):
        load_report(path)


def test_a_bad_quantity_in_a_saved_result_is_refused(tmp_path: pathlib.Path) -> None:
    doc = _saved(tmp_path)
    doc["items"][0]["recommended"]["requests"]["cpu"] = "-5"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ReportError, match=r"items\.0\.recommended"):
        load_report(tmp_path / "bad.json")


def test_a_report_over_the_size_cap_is_refused_before_reading(tmp_path: pathlib.Path) -> None:
    path = _krr_copy(tmp_path)
    with pytest.raises(ReportError, match="over the 100-byte cap"):
        load_report(path, max_bytes=100)


async def test_get_recommendations_reads_the_report_and_narrows_it_to_the_request(
    tmp_path: pathlib.Path,
) -> None:
    path = _krr_copy(tmp_path)
    everything = load_report(path)
    one = everything.items[0]
    result = await get_recommendations(
        ScanRequest(source="report", report_path=str(path), names=[one.name], kinds=[one.kind])
    )
    assert result.source == "report"
    assert {(i.kind, i.name) for i in result.items} == {(one.kind, one.name)}
    assert "not a live scan" in result.source_reason and str(path) in result.source_reason
    auto = await get_recommendations(ScanRequest(report_path=str(path)), krr_executable="/nonexistent/krr")
    assert auto.source == "report" and _numbers(auto) == _numbers(everything)


async def test_source_report_without_a_file_is_an_error() -> None:
    with pytest.raises(ReportError, match="--scan-report"):
        await get_recommendations(ScanRequest(source="report"))
