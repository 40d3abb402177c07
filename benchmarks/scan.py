#!/usr/bin/env python3
"""Scan benchmark: the native engine's batched PromQL vs the same engine forced to krr's per-object pattern.

For each size, a synthetic cluster (Deployments of 2 containers, 100 containers per namespace) with
DAYS of history at STEP seconds is generated (krr_mcp.metrics_history, cached by spec), loaded into a real
Prometheus, and scanned in both modes. Each scan runs in a fresh Python process so its peak RSS is its own.
Prints a table: wall time, HTTP requests, bytes received, peak RSS, and whether both modes agree.

    ./uvw run python benchmarks/scan.py                      # 10, 100, 1000 containers, 7 days at 1 min
    ./uvw run python benchmarks/scan.py --sizes 10,100 --days 1   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from krr_mcp.metrics_history import PrometheusProcess, build_tsdb, synthetic_cluster
from mcp_bridge.recommenders import ScanRequest, get_recommendations
from mcp_bridge.recommenders.native import krr_comparable

END = 1_764_000_000 // 60 * 60 + 7  # fixed, so the cached TSDB is reused between runs


def one_scan(url: str, mode: str, days: float, at: int, concurrency: int) -> dict[str, object]:
    """Run one scan in this process; report its numbers (peak RSS of this process included)."""
    request = ScanRequest(
        source="native",
        prometheus_url=url,
        history_hours=days * 24,
        end_time=datetime.fromtimestamp(at, UTC),
        query_mode=mode,  # type: ignore[arg-type]
        max_concurrency=concurrency,
        timeout_seconds=1800,
    )
    started = time.perf_counter()
    result = asyncio.run(get_recommendations(request))
    wall = time.perf_counter() - started
    digest = hashlib.sha256(
        json.dumps([krr_comparable(i) for i in result.items], sort_keys=True).encode()
    ).hexdigest()[:12]
    return {
        "mode": mode,
        "wall": wall,
        "requests": result.stats.prometheus_requests,
        "bytes": result.stats.prometheus_bytes,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "containers": result.summary.containers,
        "proposable": result.summary.proposable,
        "errors": result.summary.errors,
        "digest": digest,
    }


def run_child(url: str, mode: str, days: float, at: int, concurrency: int) -> dict[str, object]:
    args = [sys.executable, __file__, "--child", url, mode, str(days), str(at), str(concurrency)]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"scan {mode} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100,1000", help="container counts, comma-separated")
    parser.add_argument("--days", type=float, default=7.0, help="history length")
    parser.add_argument("--step", type=int, default=60, help="cAdvisor sample spacing (s)")
    parser.add_argument("--ksm-step", type=int, default=300, help="kube-state-metrics sample spacing (s)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent Prometheus queries")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "krr-mcp" / "bench")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, mode, days, at, concurrency = args.child
        print(json.dumps(one_scan(url, mode, float(days), int(at), int(concurrency))))
        return

    rows = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        spec = synthetic_cluster(size, end=END, days=args.days, step=args.step, ksm_step=args.ksm_step)
        started = time.perf_counter()
        tsdb = build_tsdb(spec, args.cache_dir / f"c{size}-d{args.days:g}-s{args.step}-k{args.ksm_step}")
        built = time.perf_counter() - started
        print(f"{size} containers: TSDB ready in {built:.1f} s ({tsdb})", file=sys.stderr, flush=True)
        at = END + 53  # just after the last sample
        with PrometheusProcess(tsdb, extra_args=("--query.max-samples=200000000",)) as prom:
            results = {mode: run_child(prom.url, mode, args.days, at, args.concurrency)
                       for mode in ("batched", "per_object")}  # fmt: skip
        b, p = results["batched"], results["per_object"]
        rows.append((size, b, p))
        print(json.dumps({"size": size, **{m: r for m, r in results.items()}}), file=sys.stderr, flush=True)

    header = (
        f"{'containers':>10} | {'mode':<10} | {'wall s':>8} | {'requests':>8} | {'MB recv':>8} | "
        f"{'peak RSS MB':>11} | {'proposable':>10} | same result"
    )
    print(
        f"history: {args.days:g} days, cAdvisor every {args.step}s, kube-state-metrics every {args.ksm_step}s"
    )
    print(header)
    print("-" * len(header))
    for size, b, p in rows:
        same = "yes" if b["digest"] == p["digest"] else "NO"
        for r in (b, p):
            print(
                f"{size:>10} | {r['mode']:<10} | {r['wall']:>8.2f} | {r['requests']:>8} | "
                f"{int(r['bytes']) / 1e6:>8.2f} | {r['rss_mb']:>11.0f} | {r['proposable']:>10} | {same}"  # type: ignore[call-overload]
            )
        ratio_req = int(p["requests"]) / max(1, int(b["requests"]))  # type: ignore[call-overload]
        ratio_wall = float(p["wall"]) / max(1e-9, float(b["wall"]))  # type: ignore[arg-type]
        print(f"{'':>10} | {'ratio':<10} | {ratio_wall:>7.1f}x | {ratio_req:>7.1f}x |")


if __name__ == "__main__":
    main()
