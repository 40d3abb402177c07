"""Bridge overhead: list_recommendations and scan_recommendations through the real stdio transport
(`krr-mcp serve` as a subprocess, driven by the MCP SDK's stdio client) against the same calls made
directly in Python, in the same run, on the same sandbox and Prometheus.

    ./uvw run python benchmarks/bridge.py --rrs 1000 --containers 1000

Prints p50/p99 per path and the p50 ratio against the direct call. The headline is what an assistant
pays: the SDK client's `call_tool` for the default page (50 items; it also revalidates the structured
result against the tool's output schema with jsonschema), goal at most 1.5x the direct call at p50.
Also timed: the list's next page (its cursor, asked right after its first page, as an assistant pages:
served from the first page's read), the bare tools/call request (transport + server only), and
`call_tool` asking for every item in one answer (limit 5000), as before paging. `--calls` narrows those.
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

from krr_mcp.api import project_crds
from krr_mcp.sandbox.testing import SandboxHandle

NAMESPACE = "bench"
HEADLINE = "MCP stdio: SDK client call_tool, default page"
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
                            "proposed": {
                                "requests": {"cpu": "250m", "memory": "384Mi"},
                                "limits": {"memory": "768Mi"},
                            },
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


async def timed_all(
    calls: list[Callable[[], Awaitable[Any]]], iterations: int, warmup: int
) -> list[list[float]]:
    """Latencies of several calls, alternated call by call so all see the same machine load."""
    for _ in range(warmup):
        for call in calls:
            await call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(iterations):
        for call, out in zip(calls, samples, strict=True):
            start = time.perf_counter()
            await call()
            out.append(time.perf_counter() - start)
    return samples


async def run(
    args: argparse.Namespace, sandbox: SandboxHandle, prometheus_url: str
) -> list[tuple[str, str, list[float]]]:
    from mcp.client.stdio import StdioServerParameters

    from krr_mcp.recommenders import (
        ScanFilters,
        ScanRequest,
        filter_recommendations,
        get_recommendations,
        namespace_summaries,
    )
    from mcp_bridge.bridge import Bridge
    from mcp_bridge.paging import DEFAULT_PAGE
    from mcp_bridge.settings import BridgeSettings
    from mcp_bridge.tools.views import list_recommendations_view

    settings = BridgeSettings(
        kubeconfig=str(sandbox.kubeconfig), prometheus_url=prometheus_url, source="native"
    )
    bridge = Bridge.connect(settings)
    request = ScanRequest(
        namespaces=[NAMESPACE],
        history_hours=args.history_hours,
        source="native",
        prometheus_url=prometheus_url,
        keep_explanations=False,  # as scan_recommendations asks
    )

    cursors: dict[str, str | None] = {}  # the last first page's next_cursor, per path

    async def direct_list() -> None:
        result = await asyncio.to_thread(
            list_recommendations_view, bridge, None, None, None, None, DEFAULT_PAGE
        )
        assert result.total == args.rrs and len(result.items) == min(DEFAULT_PAGE, args.rrs), result.total
        cursors["direct"] = result.next_cursor

    async def direct_next() -> None:
        result = await asyncio.to_thread(
            list_recommendations_view, bridge, None, None, None, None, DEFAULT_PAGE, cursors["direct"]
        )
        assert result.total == args.rrs and len(result.items) == min(DEFAULT_PAGE, args.rrs - DEFAULT_PAGE)

    async def direct_scan() -> None:
        result = await get_recommendations(request, kube_api=bridge.cluster.api_client)
        result = filter_recommendations(result, ScanFilters(namespaces=[NAMESPACE]))
        assert len(result.items) == args.containers, (len(result.items), result.errors[:3])
        assert namespace_summaries(result.items, result.errors)[NAMESPACE].containers == args.containers

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
            "--unsafe-allow-approver-credentials",  # the sandbox enforces no RBAC: its user may approve
        ],
    )
    results: list[tuple[str, str, list[float]]] = []
    stderr_path = Path(args.workdir) / "server.stderr"
    try:
        await measure(args, params, stderr_path, results, (direct_list, direct_next, cursors), direct_scan)
    except BaseException:
        print("krr-mcp serve stderr (last 40 lines):", file=sys.stderr)
        print("\n".join(stderr_path.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        raise
    return results


async def measure(
    args: argparse.Namespace,
    params: Any,
    stderr_path: Path,
    results: list[tuple[str, str, list[float]]],
    direct_lists: tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]], dict[str, str | None]],
    direct_scan: Callable[[], Awaitable[None]],
) -> None:
    from mcp import Client
    from mcp.client.stdio import stdio_client
    from mcp_types import CallToolRequest, CallToolRequestParams, CallToolResult

    with open(stderr_path, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            list_args: dict[str, Any] = {}  # the default page
            scan_args: dict[str, Any] = {"namespaces": [NAMESPACE], "history_hours": args.history_hours}

            def check(name: str, result: Any) -> None:
                assert isinstance(result, CallToolResult) and not result.is_error, result
                out: Any = result.structured_content
                if name == "list_recommendations":
                    assert out["total"] == args.rrs, out["total"]
                else:
                    assert out["total"] == args.containers, (out["total"], out["summary"], out["errors"][:3])
                    assert sum(s["containers"] for s in out["by_namespace"].values()) == args.containers

            def sdk_client(name: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[None]]:
                """The SDK client's call_tool: includes its jsonschema revalidation of the result."""

                async def call() -> None:
                    check(name, await client.call_tool(name, arguments))

                return call

            def wire_only(name: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[None]]:
                """The same tools/call request, transport + server only (no client-side revalidation)."""
                request = CallToolRequest(params=CallToolRequestParams(name=name, arguments=arguments))

                async def call() -> None:
                    check(name, await client.session.send_request(request, CallToolResult))

                return call

            direct_list, direct_next, cursors = direct_lists

            async def sdk_first() -> None:
                result = await client.call_tool("list_recommendations", list_args)
                check("list_recommendations", result)
                cursors["sdk"] = result.structured_content["next_cursor"]  # type: ignore[index]

            async def sdk_next() -> None:
                check(
                    "list_recommendations",
                    await client.call_tool("list_recommendations", {"cursor": cursors["sdk"]}),
                )

            # A page sequence: each next page asked right after its first page (what an assistant does).
            samples = await timed_all(
                [direct_list, direct_next, sdk_first, sdk_next], args.list_iterations, args.warmup
            )
            results.append(("list_recommendations", "direct (Python)", samples[0]))
            results.append(("list_recommendations", "direct (Python), next page (cursor)", samples[1]))
            results.append(("list_recommendations", HEADLINE, samples[2]))
            results.append(
                ("list_recommendations", "MCP stdio: SDK client call_tool, next page (cursor)", samples[3])
            )
            if "list_recommendations" in args.calls:
                samples = await timed_all(
                    [
                        wire_only("list_recommendations", list_args),
                        sdk_client("list_recommendations", {"limit": 5000}),
                    ],
                    args.list_iterations,
                    args.warmup,
                )
                results.append(
                    ("list_recommendations", "MCP stdio: transport + server, default page", samples[0])
                )
                results.append(
                    (
                        "list_recommendations",
                        "MCP stdio: SDK client call_tool, all items (limit 5000)",
                        samples[1],
                    )
                )
            if "scan_recommendations" in args.calls:
                name = "scan_recommendations"
                samples = await timed_all(
                    [
                        direct_scan,
                        sdk_client(name, scan_args),
                        wire_only(name, scan_args),
                        sdk_client(name, scan_args | {"limit": 5000}),
                    ],
                    args.scan_iterations,
                    args.warmup,
                )
                results.append((name, "direct (Python)", samples[0]))
                results.append((name, HEADLINE, samples[1]))
                results.append((name, "MCP stdio: transport + server, default page", samples[2]))
                results.append((name, "MCP stdio: SDK client call_tool, all items (limit 5000)", samples[3]))


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
            if path == HEADLINE:
                ratio = f"[bold]{ratio}[/bold] (headline)"
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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rrs", type=int, default=1000, help="ResourceRecommendations in the cluster")
    parser.add_argument("--containers", type=int, default=1000, help="containers to scan (total)")
    parser.add_argument("--containers-per-workload", type=int, default=4)
    parser.add_argument("--history-hours", type=int, default=12, help="usage history to generate and scan")
    parser.add_argument("--list-iterations", type=int, default=30)
    parser.add_argument("--scan-iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--future-minutes", type=int, default=60, help="history extends this far past now")
    parser.add_argument(
        "--calls",
        nargs="+",
        default=["list_recommendations", "scan_recommendations"],
        help="whose other paths to time (the list's first and next pages are always timed)",
    )
    args = parser.parse_args()
    if args.containers % args.containers_per_workload:
        parser.error("--containers must be a multiple of --containers-per-workload")
    args.workloads = args.containers // args.containers_per_workload

    from krr_mcp.demo.history import history_for
    from krr_mcp.metrics_history import PrometheusProcess, build_tsdb

    with tempfile.TemporaryDirectory(prefix="krr-mcp-bench-") as workdir:
        args.workdir = workdir
        sandbox = SandboxHandle(Path(workdir) / "kubeconfig", seed="none", crds=project_crds())
        try:
            objects = workloads(args.workloads, args.containers_per_workload)
            sandbox.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, *objects
            )
            sandbox.apply(*recommendations(args.rrs, objects))
            # The history runs into the near future: the scan asks which pods run "now", and the
            # benchmark takes minutes at full size.
            end = (int(time.time()) // 60 + args.future_minutes) * 60
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
