#!/usr/bin/env python3
"""Sandbox API server benchmark: requests per second over real HTTP (get, list of 1,000 objects, merge
patch), watch fan-out to 10 watchers, and memory after many writes (bounded history, no request log).

The server runs in a background thread (its own event loop, as in the tests); the client is aiohttp on
the main thread with a few requests in flight. Prints a Markdown table (recorded in docs/sandbox.md).

    ./uvw run python benchmarks/sandbox.py                   # full: 100,000 writes for the memory row
    ./uvw run python benchmarks/sandbox.py --writes 10000 --requests 500   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import aiohttp

from krr_mcp.sandbox.handle import SandboxHandle
from krr_mcp.sandbox.operations import WriteOptions

NS = "bench"


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def configmap(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"cm-{n:05d}",
            "namespace": NS,
            "labels": {"bench": "yes", "shard": str(n % 10)},
        },
        "data": {"key": "x" * 64, "n": str(n)},
    }


async def timed_requests(
    session: aiohttp.ClientSession, count: int, concurrency: int, make: Any
) -> tuple[float, list[float]]:
    """Run `count` requests (make(i) -> coroutine returning the status), `concurrency` at a time."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            t0 = time.perf_counter()
            status = await make(i)
            assert status < 300, status
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def row(name: str, count: int, wall: float, latencies: list[float] | None, note: str = "") -> list[str]:
    p50 = f"{statistics.median(latencies) * 1000:.1f}" if latencies else "-"
    p99 = f"{sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000:.1f}" if latencies else "-"
    return [name, f"{count:,}", f"{count / wall:,.0f}", p50, p99, note]


async def http_rows(handle: SandboxHandle, requests: int, concurrency: int) -> list[list[str]]:
    rows = []
    base = handle.url
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def get(_: int) -> int:
            async with session.get(f"{base}/apis/apps/v1/namespaces/shop/deployments/web") as r:
                await r.read()
                return r.status

        wall, lat = await timed_requests(session, requests, concurrency, get)
        rows.append(row("get (one Deployment)", requests, wall, lat))

        lists = max(20, requests // 20)

        async def list_all(_: int) -> int:
            async with session.get(f"{base}/api/v1/namespaces/{NS}/configmaps") as r:
                body = await r.json()
                assert len(body["items"]) == 1000
                return r.status

        wall, lat = await timed_requests(session, lists, concurrency, list_all)
        rows.append(row("list (1,000 ConfigMaps)", lists, wall, lat, f"{lists * 1000 / wall:,.0f} objects/s"))

        async def patch(i: int) -> int:
            url = f"{base}/api/v1/namespaces/{NS}/configmaps/cm-{i % 1000:05d}"
            headers = {"Content-Type": "application/merge-patch+json"}
            async with session.patch(url, data=json.dumps({"data": {"n": str(i)}}), headers=headers) as r:
                await r.read()
                return r.status

        wall, lat = await timed_requests(session, requests, concurrency, patch)
        rows.append(row("merge patch (ConfigMap)", requests, wall, lat))
    return rows


async def watch_fanout(handle: SandboxHandle, watchers: int, writes: int) -> list[str]:
    """`watchers` watch streams; `writes` changes made on the server; time until every watcher saw all."""
    rv = handle.call(lambda: handle.server.store.rv)
    url = f"{handle.url}/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=120"
    done = [asyncio.Event() for _ in range(watchers)]

    async def consume(n: int, session: aiohttp.ClientSession, started: asyncio.Event) -> None:
        seen = 0
        async with session.get(url) as r:
            started.set()
            async for _ in r.content:
                seen += 1
                if seen >= writes:
                    done[n].set()
                    return
        overflows = handle.call(lambda: handle.server.store.overflows)
        raise RuntimeError(f"watch {n} ended after {seen} of {writes} events ({overflows} overflows)")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=watchers + 2)) as session:
        starts = [asyncio.Event() for _ in range(watchers)]
        tasks = [asyncio.create_task(consume(n, session, starts[n])) for n in range(watchers)]
        await asyncio.gather(*(s.wait() for s in starts))
        await asyncio.sleep(0.2)
        t0 = time.perf_counter()
        ops = handle.server.ops
        rt = handle.server.registry.get("", "v1", "configmaps")
        assert rt is not None
        chunk = 100
        for start in range(0, writes, chunk):

            def burst(start: int = start) -> None:
                for i in range(start, min(writes, start + chunk)):
                    ops.patch(
                        rt,
                        NS,
                        f"cm-{i % 1000:05d}",
                        "merge",
                        {"data": {"w": str(i)}},
                        WriteOptions(field_manager="bench"),
                    )

            await asyncio.to_thread(handle.call, burst)
        waiting = [asyncio.create_task(d.wait()) for d in done]
        finished, _ = await asyncio.wait([*waiting, *tasks], return_when=asyncio.FIRST_EXCEPTION, timeout=300)
        for task in finished:
            if task in tasks and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        assert all(d.is_set() for d in done), "watchers did not see every write in 300 s"
        wall = time.perf_counter() - t0
        for task in tasks:
            task.cancel()
    delivered = watchers * writes
    return [
        f"watch fan-out ({watchers} watchers)",
        f"{writes:,} writes",
        f"{delivered / wall:,.0f}",
        "-",
        "-",
        f"events delivered/s; {writes / wall:,.0f} writes/s",
    ]


def _churn(handle: SandboxHandle, first: int, count: int) -> None:
    """`count` writes: merge patches cycling over the 1,000 ConfigMaps, every 10th a create + delete."""
    ops = handle.server.ops
    rt = handle.server.registry.get("", "v1", "configmaps")
    assert rt is not None
    opts = WriteOptions(field_manager="bench")
    chunk = 1000
    for start in range(first, first + count, chunk):

        def burst(start: int = start) -> None:
            for i in range(start, min(first + count, start + chunk)):
                if i % 10 == 9:
                    temp = configmap(i)
                    temp["metadata"]["name"] = f"tmp-{i}"
                    ops.create(rt, NS, temp, opts)
                    ops.delete(rt, NS, f"tmp-{i}", {}, False)
                else:
                    ops.patch(rt, NS, f"cm-{i % 1000:05d}", "merge", {"data": {"m": str(i)}}, opts)

        handle.call(burst)


def memory_rows(handle: SandboxHandle, writes: int, traced: int) -> list[list[str]]:
    """RSS at each quarter of `writes`; then the Python heap (tracemalloc) across `traced` more writes."""
    checkpoints = [f"{rss_mib():.0f}"]
    t0 = time.perf_counter()
    quarter = max(1, writes // 4)
    done = 0
    while done < writes:
        step = min(quarter, writes - done)
        _churn(handle, done, step)
        done += step
        checkpoints.append(f"{rss_mib():.0f}")
    wall = time.perf_counter() - t0
    store = handle.server.store
    objects, history = handle.call(
        lambda: (sum(store.count(k) for k in store.storage_keys()), store.history_length)
    )
    rows = [
        [
            "writes (in-process), RSS",
            f"{writes:,}",
            f"{writes / wall:,.0f}",
            "-",
            "-",
            f"RSS MiB at 0/25/50/75/100%: {' / '.join(checkpoints)}; "
            f"{objects} objects, {history} events kept",
        ]
    ]
    # Allocations made before tracing (the history of the first writes) are untraced; as the bounded
    # history replaces them, traced memory rises by about their size and then stays flat.
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    growth = []
    step = max(1, traced // 4)
    for n in range(4):
        _churn(handle, writes + n * step, step)
        growth.append(f"{(tracemalloc.get_traced_memory()[0] - base) / 2**20:+.1f}")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows.append(
        [
            "writes, traced heap",
            f"{step * 4:,}",
            "-",
            "-",
            "-",
            f"tracemalloc growth at 25/50/75/100%: {' / '.join(growth)} MiB "
            f"(peak {(peak - base) / 2**20:+.1f})",
        ]
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--writes", type=int, default=100_000, help="writes for the memory row (default 100,000)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per HTTP row (default 2,000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument(
        "--traced-writes", type=int, default=20_000, help="writes under tracemalloc (default 20,000)"
    )
    parser.add_argument(
        "--watch-writes", type=int, default=1000, help="writes seen by every watcher (default 1,000)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        handle = SandboxHandle(Path(tmp) / "kubeconfig", seed="default", controller=False)
        try:
            handle.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            handle.apply(*[configmap(n) for n in range(1000)])
            rows = asyncio.run(http_rows(handle, args.requests, args.concurrency))
            rows.append(asyncio.run(watch_fanout(handle, 10, args.watch_writes)))
            rows.extend(memory_rows(handle, args.writes, args.traced_writes))
        finally:
            handle.close()
    header = ["operation", "count", "per second", "p50 ms", "p99 ms", "notes"]
    print(
        f"sandbox benchmark: {args.concurrency} requests in flight, server and client in one process "
        f"({os.cpu_count()} CPUs)"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
