"""The recorded scan shipped for the demo: it describes the sandbox's seed, and it is exactly what the
native engine finds on the demo's generated history (regenerated where prometheus is installed)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from krr_mcp.api.quantities import parse_resource_quantity
from krr_mcp.core.safety.workload import pod_spec
from krr_mcp.demo.record import RECORDED_END, record, recorded_scan_path
from krr_mcp.recommenders import ScanResult, load_report

from .test_history import seed_workloads


def _numbers(result: ScanResult) -> dict[str, Any]:
    """Everything but timestamps, timing and where the file lies."""
    return {
        "items": [i.model_dump(mode="json") for i in result.items],
        "errors": [e.model_dump(mode="json") for e in result.errors],
        "summary": result.summary.model_dump(mode="json"),
        "settings": result.settings,
        "strategy": result.strategy,
    }


def _amounts(resources: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (section, name): parse_resource_quantity(str(value), name)
        for section in ("requests", "limits")
        for name, value in (resources.get(section) or {}).items()
        if name in ("cpu", "memory") and value is not None
    }


def test_the_recorded_scan_is_shipped_and_covers_every_seeded_container() -> None:
    path = recorded_scan_path()
    assert path.is_file(), f"{path} is missing from the installed package"
    recorded = load_report(path)
    assert recorded.report is not None and recorded.report.recorded_source == "native"
    assert recorded.scanned_at == RECORDED_END and not recorded.errors
    seeded = {
        (w["metadata"]["namespace"], w["kind"], w["metadata"]["name"], c["name"]): c.get("resources") or {}
        for w in seed_workloads()
        for c in pod_spec(w)["containers"]
    }
    by_key = {(i.namespace, i.kind, i.name, i.container): i for i in recorded.items}
    assert set(by_key) == set(seeded)
    for key, item in by_key.items():  # the seed changed? run `python -m krr_mcp.demo.record`
        assert _amounts(item.current.model_dump()) == _amounts(seeded[key]), key
    assert recorded.summary.proposable >= 1


@pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="regenerating the recorded scan needs prometheus and promtool (Debian package 'prometheus')",
)
def test_the_recorded_scan_is_what_the_native_engine_finds_now(tmp_path: Path) -> None:
    fresh = record()
    assert _numbers(fresh) == _numbers(load_report(recorded_scan_path())), (
        "krr_mcp/demo/recorded-scan.json drifted from the native engine's scan of the demo's history: "
        "regenerate it with `./uvw run python -m krr_mcp.demo.record` and review the diff"
    )
