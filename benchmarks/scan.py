#!/usr/bin/env python3
"""Scan benchmark: the native engine against krr's query pattern and, where it is installed, the real krr.

For each size, a synthetic cluster (Deployments of 2 containers, 100 containers per namespace) with
DAYS of history at STEP seconds is generated (krr_mcp.metrics_history, cached by spec), loaded into a real
Prometheus by promtool, and its Deployments are created in a sandbox API server. Then, each in a fresh
process (so peak RSS and CPU are the scan's own):

- native batched: the bridge's engine, workloads from the API, usage in one query per namespace and metric;
- native per-object: the same engine forced to krr's per-object query pattern (sizes up to
  --per-object-max);
- krr: the real krr CLI (`krr simple -f json`) on the same API server and Prometheus, when a `krr`
  executable is on PATH; otherwise one line says it was not found and the rest runs.

Prints a table: wall time, Prometheus requests and the CPU Prometheus spent answering them, API server
requests, the engine's own CPU (krr: its process tree's), peak RSS, and whether the recommendations agree
with the batched scan's (every container's recommended requests/limits and severity).

    ./uvw run python benchmarks/scan.py                           # 100, 1000 and 10000 containers, 1 day
    ./uvw run python benchmarks/scan.py --sizes 10,100 --days 0.25   # quick

krr reads "now": when it runs, the history ends a little after the current minute (and is rebuilt, not
taken from the cache) and every row scans at the instant krr started; otherwise the history ends at a
fixed instant, so the cached history is reused between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXED_END = 1_764_000_000 // 60 * 60 + 7  # the cached history's end, reused between runs
KRR_OUTPUT_CAP = 512 * 1024 * 1024  # krr's JSON at 10,000 containers is tens of MB
COLUMNS = (
    ("containers", 10),
    ("source", 18),
    ("wall s", 8),
    ("Prom req", 8),
    ("Prom CPU s", 10),
    ("API req", 7),
    ("engine CPU s", 12),
    ("peak RSS MB", 11),
    ("proposable", 10),
    ("same as batched", 15),
)


def find_krr_cli() -> str | None:
    """The krr executable the benchmark would run (`krr` on PATH), or None."""
    return shutil.which("krr")


def _cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def own_peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM: the high-water mark of its address space since exec), MB.

    Not `ru_maxrss`: Linux carries the parent's peak into a child's ru_maxrss across fork and exec, so
    a scan spawned by this benchmark (whose parent holds the sandbox and the cluster's spec, about 270 MB
    at 10,000 containers) reported the parent's peak, not its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _agreement_key(item: Any) -> list[Any]:
    recommended = item.recommended.model_dump(mode="json") if item.recommended else None
    return [item.namespace, item.kind, item.name, item.container, recommended, item.severity]


def run_scan(scan: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run(scan) without letting the main task hold the result: at exit asyncio.run restores its
    SIGINT handler, a partial naming the main task, and Python's signal module formats that partial
    (done task, result and all); for a 10,000-item ScanResult that repr alone cost seconds of CPU."""
    kept: list[Any] = []

    async def main() -> None:
        kept.append(await scan)

    asyncio.run(main())
    return kept[0]


def one_scan(
    row: str, url: str, kubeconfig: str, days: float, at: float, concurrency: int, explanations: bool
) -> dict[str, Any]:
    """Run one scan in this process (row: batched, per_object or krr); report its numbers. The native
    rows keep no explanations unless `explanations`, as scan_recommendations asks."""
    from krr_mcp.kube.client import connect
    from krr_mcp.recommenders import ScanRequest, get_recommendations
    from krr_mcp.recommenders.krr_cli import scan_with_krr
    from krr_mcp.recommenders.native import scan_with_prometheus

    # The engine's CPU is its scan's, as in the running bridge: the modules it loads on first use are
    # loaded before. Nothing loads the kubernetes client's generated API and model classes: the engine
    # lists through the plain JSON client, as does the rest of the bridge.
    assert scan_with_prometheus is not None

    request = ScanRequest(
        source="krr" if row == "krr" else "native",
        prometheus_url=url,
        history_hours=days * 24,
        end_time=None if row == "krr" else datetime.fromtimestamp(at, UTC),
        query_mode="per_object" if row == "per_object" else "batched",
        max_concurrency=concurrency,
        timeout_seconds=3600,
        kubeconfig=kubeconfig,
        keep_explanations=explanations,
    )
    self_before, children_before = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    started = time.perf_counter()
    if row == "krr":
        result = run_scan(
            scan_with_krr(request, executable=str(find_krr_cli()), max_output_bytes=KRR_OUTPUT_CAP)
        )
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        # krr's process tree: its ru_maxrss starts at this process's peak when it was started (about
        # 60 MB, far below krr's own), and nothing of the benchmark's parent.
        cpu, rss_mb = _cpu_seconds(usage) - _cpu_seconds(children_before), usage.ru_maxrss / 1024
        requests: int | None = None  # krr does not say; Prometheus' CPU is measured either way
        received: int | None = None
    else:
        kube_api = connect(kubeconfig)
        result = run_scan(get_recommendations(request, kube_api=kube_api))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu, rss_mb = _cpu_seconds(usage) - _cpu_seconds(self_before), own_peak_rss_mb()
        requests, received = result.stats.prometheus_requests, result.stats.prometheus_bytes
    wall = time.perf_counter() - started
    return {
        "row": row,
        "wall": wall,
        "prometheus_requests": requests,
        "prometheus_bytes": received,
        "engine_cpu": cpu,
        "rss_mb": rss_mb,
        "containers": result.summary.containers,
        "proposable": result.summary.proposable,
        "errors": [e.message for e in result.errors[:3]],
        "recommendations": sorted(_agreement_key(i) for i in result.items),
    }


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(row: str, url: str, kubeconfig: Path, days: float, at: float, concurrency: int,
              explanations: bool, prometheus_pid: int, sandbox: Any) -> dict[str, Any]:  # fmt: skip
    """One scan in a fresh process, with the Prometheus CPU and API requests it caused."""
    args = [
        sys.executable,
        __file__,
        "--child",
        row,
        url,
        str(kubeconfig),
        str(days),
        str(at),
        str(concurrency),
        "1" if explanations else "0",
    ]
    prom_before, api_before = _process_cpu(prometheus_pid), sandbox.server.requests_served
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    prom_cpu, api = _process_cpu(prometheus_pid) - prom_before, sandbox.server.requests_served - api_before
    if proc.returncode != 0:
        raise SystemExit(f"scan {row} failed:\n{proc.stderr[-3000:]}")
    out = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out | {"prometheus_cpu": prom_cpu, "api_requests": api}


def measure_size(size: int, args: argparse.Namespace, krr: str | None) -> list[dict[str, Any]]:
    """Every row for one cluster size."""
    from krr_mcp.api import project_crds
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb, synthetic_cluster, workload_objects
    from krr_mcp.sandbox.handle import SandboxHandle

    # With krr the history runs into the near future (krr scans "now"); else it ends at a fixed instant.
    end = (int(time.time()) // 60 + args.future_minutes) * 60 if krr else FIXED_END
    spec = synthetic_cluster(size, end=end, days=args.days, step=args.step, ksm_step=args.ksm_step)
    started = time.perf_counter()
    cache = args.cache_dir / f"c{size}-d{args.days:g}-s{args.step}-k{args.ksm_step}{'-now' if krr else ''}"
    tsdb = build_tsdb(spec, cache)
    print(
        f"{size} containers: history ready in {time.perf_counter() - started:.1f} s ({tsdb})", file=sys.stderr
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="krr-mcp-scan-bench-") as workdir:
        sandbox = SandboxHandle(
            Path(workdir) / "kubeconfig", seed="none", crds=project_crds(), controller=False
        )
        try:
            sandbox.apply(*workload_objects(spec))
            with PrometheusProcess(tsdb, extra_args=("--query.max-samples=500000000",)) as prom:
                assert prom.pid is not None
                at = FIXED_END + 53  # just after the last sample
                order = ["krr"] if krr else []
                order += ["batched"] + (["per_object"] if size <= args.per_object_max else [])
                for row in order:
                    if row != "krr" and krr:
                        at = rows[0]["started_at"]  # the window krr read
                    started_at = time.time()
                    result = run_child(row, prom.url, sandbox.kubeconfig, args.days, at, args.concurrency,
                                       args.keep_explanations, prom.pid, sandbox)  # fmt: skip
                    rows.append(result | {"size": size, "started_at": started_at})
                    print(json.dumps({k: v for k, v in rows[-1].items() if k != "recommendations"}),
                          file=sys.stderr, flush=True)  # fmt: skip
        finally:
            sandbox.close()
    return rows


def agreement(row: dict[str, Any], batched: dict[str, Any] | None) -> str:
    """'yes', 'self' or how many containers differ from the batched scan."""
    if batched is None or row is batched:
        return "(reference)" if row is batched else "-"
    mine = {json.dumps(k[:4]): k[4:] for k in row["recommendations"]}
    theirs = {json.dumps(k[:4]): k[4:] for k in batched["recommendations"]}
    differ = sum(1 for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))
    return "yes" if differ == 0 else f"NO: {differ} differ"


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The table (one line per scan, then the ratios per size)."""
    header = " | ".join(f"{name:>{width}}" if i != 1 else f"{name:<{width}}" for i, (name, width) in
                        enumerate(COLUMNS))  # fmt: skip
    lines = [
        f"history: {args.days:g} days, cAdvisor every {args.step}s, kube-state-metrics every "
        f"{args.ksm_step}s, {args.concurrency} concurrent queries, native explanations "
        f"{'kept' if args.keep_explanations else 'not kept (as scan_recommendations asks)'}",
        header,
        "-" * len(header),
    ]
    labels = {"batched": "native batched", "per_object": "native per-object", "krr": "krr CLI"}
    for size in sorted({r["size"] for r in rows}):
        group = {r["row"]: r for r in rows if r["size"] == size}
        batched = group.get("batched")
        for r in group.values():
            cells = [
                f"{size:>10}",
                f"{labels[r['row']]:<18}",
                f"{r['wall']:>8.2f}",
                f"{_cell(r['prometheus_requests'], 'd'):>8}",
                f"{r['prometheus_cpu']:>10.2f}",
                f"{r['api_requests']:>7}",
                f"{r['engine_cpu']:>12.2f}",
                f"{r['rss_mb']:>11.0f}",
                f"{r['proposable']:>10}",
                f"{agreement(r, batched):>15}",
            ]
            lines.append(" | ".join(cells))
        if batched is not None:
            lines.append(
                f"{'':>10} | {'batched: engine CPU / Prometheus CPU':<18} "
                f"{batched['engine_cpu'] / max(1e-9, batched['prometheus_cpu']):.2f}"
            )
            for other in ("per_object", "krr"):
                if other in group:
                    o = group[other]
                    ratio = f"{labels[other]} / batched: wall {o['wall'] / max(1e-9, batched['wall']):.1f}x"
                    if o["prometheus_requests"] is not None:
                        ratio += f", Prometheus requests {o['prometheus_requests'] / max(1, batched['prometheus_requests']):.1f}x"  # noqa: E501
                    ratio += (
                        f", Prometheus CPU {o['prometheus_cpu'] / max(1e-9, batched['prometheus_cpu']):.1f}x"
                    )
                    lines.append(f"{'':>10} | {ratio}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000", help="container counts, comma-separated")
    parser.add_argument("--days", type=float, default=1.0, help="history length")
    parser.add_argument("--step", type=int, default=60, help="cAdvisor sample spacing (s)")
    parser.add_argument("--ksm-step", type=int, default=300, help="kube-state-metrics sample spacing (s)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent Prometheus queries")
    parser.add_argument("--per-object-max", type=int, default=1000, help="largest size scanned per object")
    parser.add_argument("--future-minutes", type=int, default=120, help="with krr: history past now")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "krr-mcp" / "bench")
    parser.add_argument(
        "--keep-explanations",
        action="store_true",
        help="native rows keep every container's explanation (scan_recommendations keeps none)",
    )
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        row, url, kubeconfig, days, at, concurrency, explanations = args.child
        scan = one_scan(row, url, kubeconfig, float(days), float(at), int(concurrency), explanations == "1")
        print(json.dumps(scan))
        return

    krr = find_krr_cli()
    if krr is None:
        print("krr was not found on PATH: the krr CLI row is skipped (install krr to compare with it)")
    rows = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        rows += measure_size(size, args, krr)
    print(format_table(rows, args))


if __name__ == "__main__":
    main()
