"""Bridge overhead: list_recommendations and scan_recommendations through the real stdio transport
(`krr-mcp serve` as a subprocess, driven by the MCP SDK's stdio client) against the same calls made
directly in Python, in the same run, on the same sandbox and Prometheus.

    ./uvw run python benchmarks/bridge.py --rrs 1000 --containers 1000

Prints p50/p99 per path and the ratio MCP/direct; the goal is a p50 ratio under 2x.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from krr_mcp.sandbox.testing import SandboxHandle

NAMESPACE = "bench"
RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}


def workloads(count: int, containers_each: int) -> list[dict[str, Any]]:
    """`count` single-replica Deployments with `containers_each` containers each."""
    out = []
    for i in range(count):
        name = f"app-{i:04d}"
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "containers": [
                                {"name": f"c{j}", "image": "example/app:1", "resources": RESOURCES}
                                for j in range(containers_each)
                            ]
                        },
                    },
                },
            }
        )
    return out


def recommendations(count: int, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`count` RRs spread over the workloads (as the bridge would have created them)."""
    out = []
    for i in range(count):
        target = targets[i % len(targets)]
        name = target["metadata"]["name"]
        container = target["spec"]["template"]["spec"]["containers"][0]["name"]
        out.append(
            {
                "apiVersion": "krr-mcp.io/v1alpha1",
                "kind": "ResourceRecommendation",
                "metadata": {
                    "name": f"{name}-deploy-{i:05d}",
                    "namespace": NAMESPACE,
                    "labels": {"krr-mcp.io/target-kind": "Deployment", "krr-mcp.io/target-name": name},
                    "annotations": {"krr-mcp.io/created-by": "bridge"},
                },
                "spec": {
                    "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "containers": [
                        {
                            "name": container,
                            "current": RESOURCES,
                            "proposed": {"requests": {"cpu": "250m", "memory": "384Mi"}, "limits": {"memory": "768Mi"}},
                        }
                    ],
                    "evidence": {"source": "native"},
                    "reason": "benchmark",
                },
            }
        )
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[Any]], iterations: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


async def run(args: argparse.Namespace, sandbox: SandboxHandle, prometheus_url: str) -> list[tuple[str, str, list[float]]]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from krr_mcp_bridge.bridge import Bridge
    from krr_mcp_bridge.recommenders import ScanFilters, ScanRequest, filter_recommendations, get_recommendations
    from krr_mcp_bridge.settings import BridgeSettings
    from krr_mcp_bridge.tools.views import list_recommendations_view

    settings = BridgeSettings(kubeconfig=str(sandbox.kubeconfig), prometheus_url=prometheus_url, source="native")
    bridge = Bridge.connect(settings)
    request = ScanRequest(
        namespaces=[NAMESPACE], history_hours=args.history_hours, source="native", prometheus_url=prometheus_url
    )

    async def direct_list() -> None:
        result = await asyncio.to_thread(list_recommendations_view, bridge, None, None, None, None, 5000)
        assert result.total == args.rrs, result.total

    async def direct_scan() -> None:
        result = await get_recommendations(request, kube_api=bridge.cluster.api_client)
        result = filter_recommendations(result, ScanFilters(namespaces=[NAMESPACE]))
        assert len(result.items) == args.containers, (len(result.items), result.errors[:3])

    krr_mcp = Path(sys.executable).parent / "krr-mcp"
    params = StdioServerParameters(
        command=str(krr_mcp),
        args=[
            "serve",
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "--prometheus-url",
            prometheus_url,
            "--source",
            "native",
        ],
    )
    results: list[tuple[str, str, list[float]]] = []
    with open(Path(args.workdir) / "server.stderr", "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:

            async def mcp_list() -> None:
                result = await client.call_tool("list_recommendations", {"limit": 5000})
                assert not result.is_error and result.structured_content["total"] == args.rrs  # type: ignore[index]

            async def mcp_scan() -> None:
                result = await client.call_tool(
                    "scan_recommendations",
                    {"namespaces": [NAMESPACE], "history_hours": args.history_hours, "limit": 5000},
                )
                assert not result.is_error, result.content
                out: Any = result.structured_content
                assert len(out["items"]) == args.containers, (len(out["items"]), out["summary"], out["errors"][:3])

            # Interleave the paths per call so both see the same machine load.
            for name, direct, over_mcp, iterations in (
                ("list_recommendations", direct_list, mcp_list, args.list_iterations),
                ("scan_recommendations", direct_scan, mcp_scan, args.scan_iterations),
            ):
                results.append((name, "direct (Python)", await timed(direct, iterations, args.warmup)))
                results.append((name, "MCP over stdio", await timed(over_mcp, iterations, args.warmup)))
    return results


def report(results: list[tuple[str, str, list[float]]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"krr-mcp bridge: {args.rrs} RRs, {args.containers} containers "
        f"({args.workloads} Deployments), {args.history_hours}h of history"
    )
    for column in ("call", "path", "n", "p50 ms", "p99 ms", "mean ms", "p50 ratio MCP/direct"):
        table.add_column(column, justify="right" if column != "call" and column != "path" else "left")
    by_call: dict[str, dict[str, list[float]]] = {}
    for call, path, samples in results:
        by_call.setdefault(call, {})[path] = samples
    for call, paths in by_call.items():
        direct_p50 = percentile(paths["direct (Python)"], 0.5)
        for path, samples in paths.items():
            p50 = percentile(samples, 0.5)
            ratio = f"{p50 / direct_p50:.2f}x" if path != "direct (Python)" else ""
            table.add_row(
                call,
                path,
                str(len(samples)),
                f"{p50 * 1000:.1f}",
                f"{percentile(samples, 0.99) * 1000:.1f}",
                f"{statistics.fmean(samples) * 1000:.1f}",
                ratio,
            )
    Console(width=140).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rrs", type=int, default=1000, help="ResourceRecommendations in the cluster")
    parser.add_argument("--containers", type=int, default=1000, help="containers to scan (total)")
    parser.add_argument("--containers-per-workload", type=int, default=4)
    parser.add_argument("--history-hours", type=int, default=12, help="usage history to generate and scan")
    parser.add_argument("--list-iterations", type=int, default=30)
    parser.add_argument("--scan-iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    if args.containers % args.containers_per_workload:
        parser.error("--containers must be a multiple of --containers-per-workload")
    args.workloads = args.containers // args.containers_per_workload

    from krr_mcp.demo.history import history_for
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb

    with tempfile.TemporaryDirectory(prefix="krr-mcp-bench-") as workdir:
        args.workdir = workdir
        sandbox = SandboxHandle(Path(workdir) / "kubeconfig", seed="none")
        try:
            objects = workloads(args.workloads, args.containers_per_workload)
            sandbox.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, *objects)
            sandbox.apply(*recommendations(args.rrs, objects))
            end = int(time.time()) // 60 * 60
            started = time.perf_counter()
            spec = history_for(objects, end, days=args.history_hours / 24)
            tsdb = build_tsdb(spec, Path(workdir) / "history")
            print(f"history for {args.containers} containers built in {time.perf_counter() - started:.1f}s")
            with PrometheusProcess(tsdb) as prometheus:
                results = asyncio.run(run(args, sandbox, prometheus.url))
        finally:
            sandbox.close()
    report(results, args)


if __name__ == "__main__":
    main()
