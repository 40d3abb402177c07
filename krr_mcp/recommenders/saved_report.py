"""Scanning from a saved report instead of a live source (ScanRequest.source "report").

`load_report(path)` reads either krr's own `-f json` output (parsed by `parse_recommendations`, with all
its protections) or a ScanResult JSON that krr-mcp saved (`save_report`). The result has source "report"
and `report` saying which file, which recommender produced the numbers and when: never a live scan.

A ScanResult file is validated by the model (quantities, severities, no unknown fields), its containers
listed twice lose their recommendation as in krr output, and its summary is recomputed, never trusted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .krr_output import MAX_OUTPUT_BYTES, KrrOutputError, parse_recommendations, refuse_duplicates
from .models import SavedReport, ScanResult


class ReportError(ValueError):
    """The saved report cannot be read or used."""


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ReportError(f"saved report {path} is {size} bytes, over the {max_bytes}-byte cap")
        return path.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read the saved report {path}: {exc.strerror or exc}") from None


def _decode(raw: bytes, path: Path) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReportError(f"saved report {path} is not valid JSON: {exc}") from None


def _from_scan_result(doc: dict[str, Any], path: Path) -> ScanResult:
    items = doc.get("items")
    if isinstance(items, list):  # computed fields are recomputed, not read back
        doc = {**doc, "items": [_without_computed(i) for i in items]}
    try:
        result = ScanResult.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportError(
            f"saved report {path} is not a krr-mcp scan result: {where}: {first['msg']} "
            f"({exc.error_count()} problem(s))"
        ) from None
    items_copy, errors = list(result.items), list(result.errors)
    refuse_duplicates(items_copy, [f"$.items[{n}]" for n in range(len(items_copy))], errors, strict=False)
    return result.model_copy(update={"items": items_copy, "errors": errors})


def _without_computed(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {k: v for k, v in item.items() if k not in ("proposable", "missing_data")}


def load_report(path: str | Path, *, max_bytes: int = MAX_OUTPUT_BYTES) -> ScanResult:
    """The saved report at `path` as a ScanResult with source "report"; ReportError when unusable."""
    file = Path(path).expanduser()
    raw = _read(file, max_bytes)
    doc = _decode(raw, file)
    if isinstance(doc, dict) and "scans" in doc:
        try:
            result = parse_recommendations(raw, max_bytes=max_bytes)
        except KrrOutputError as exc:
            raise ReportError(f"saved krr report {file} is unusable: {exc}") from None
        mtime = datetime.fromtimestamp(file.stat().st_mtime, UTC)
        origin = SavedReport(
            path=str(file.absolute()),
            format="krr-json",
            recorded_source="krr",
            recorded_at=mtime,
            recorded_at_from="file modification time",
        )
    elif isinstance(doc, dict) and "items" in doc:
        result = _from_scan_result(doc, file)
        recorded = result.report.recorded_source if result.report else result.source
        origin = SavedReport(
            path=str(file.absolute()),
            format="scan-result",
            recorded_source=recorded,
            recorded_at=result.report.recorded_at if result.report else result.scanned_at,
            recorded_at_from="report",
        )
    else:
        raise ReportError(
            f"saved report {file} is neither krr's -f json output (no 'scans') nor a krr-mcp scan "
            "result (no 'items')"
        )
    return result.model_copy(
        update={"source": "report", "report": origin, "scanned_at": origin.recorded_at}
    ).with_summary()


def report_reason(origin: SavedReport) -> str:
    """One sentence an assistant can repeat: where the numbers come from."""
    return (
        f"numbers from a saved report, not a live scan: {origin.path} ({origin.format}, produced by "
        f"{origin.recorded_source} at {origin.recorded_at.isoformat(timespec='seconds')}, "
        f"from the {origin.recorded_at_from}); the request's strategy settings do not apply, "
        "the report's are in `settings`"
    )


def save_report(result: ScanResult, path: str | Path) -> None:
    """Write `result` as a ScanResult JSON that `load_report` reads back (computed fields left out)."""
    text = result.model_dump_json(indent=2, exclude_computed_fields=True)
    Path(path).write_text(text + "\n", encoding="utf-8")
