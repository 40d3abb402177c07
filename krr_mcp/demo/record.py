"""The demo's recorded scan: what the native engine finds on the demo's generated history.

`python -m krr_mcp.demo.record [--output FILE]` starts the seeded sandbox and a real Prometheus holding
the demo's generated history up to RECORDED_END, runs the native engine on it (confirming workloads
with the sandbox's API, as `krr-mcp serve` does) and writes the ScanResult JSON the demo scans from
when no `prometheus` is installed. It needs the `prometheus` and `promtool` binaries. The history is
deterministic, so running it again writes the same numbers (tests/demo checks the shipped file).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from krr_mcp.recommenders import ScanResult

RECORDED_END = datetime(2026, 11, 1, tzinfo=UTC)
"""The instant the recorded history ends and the scan is evaluated at (fixed: reproducible numbers)."""


def recorded_scan_path() -> Path:
    """The recorded scan shipped with krr-mcp (package data of krr_mcp.demo)."""
    return Path(str(files("krr_mcp.demo").joinpath("recorded-scan.json")))


def record() -> ScanResult:
    """Run the native engine on the demo's generated history; the ScanResult (stats and timing left
    out, scanned_at = RECORDED_END)."""
    from kubernetes import config

    from krr_mcp.recommenders import ScanRequest, ScanStats, get_recommendations

    from .cluster import DemoCluster
    from .environment import start_sandbox
    from .history import demo_prometheus

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="krr-mcp-record-") as work:
        sandbox = start_sandbox(stack, Path(work) / "record.kubeconfig")
        workloads = DemoCluster(sandbox.kubeconfig).workloads()
        url = stack.enter_context(demo_prometheus(workloads, int(RECORDED_END.timestamp())))
        api = stack.enter_context(config.new_client_from_config(config_file=sandbox.kubeconfig))
        request = ScanRequest(source="native", prometheus_url=url, end_time=RECORDED_END)
        result = asyncio.run(get_recommendations(request, kube_api=api))
    return result.model_copy(update={"stats": ScanStats(), "scanned_at": RECORDED_END})


def main(argv: list[str] | None = None) -> int:
    from krr_mcp.recommenders import save_report

    parser = argparse.ArgumentParser(prog="python -m krr_mcp.demo.record", description=__doc__)
    parser.add_argument("--output", type=Path, default=recorded_scan_path(), help="default: %(default)s")
    args = parser.parse_args(argv)
    result = record()
    save_report(result, args.output)
    print(
        f"wrote {args.output}: {result.summary.containers} containers, {result.summary.proposable} proposable"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
