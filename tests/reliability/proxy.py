"""A fault-injecting HTTP proxy between the operator (kopf's watches and our client) and the sandbox.

It forwards every request and streams every answer (watches included), and on demand:
- `down`: the API server is unreachable (connections are answered with 503 and closed);
- `cut_watches()`: every open watch stream ends abruptly now;
- `expire_next`: the next N watches resuming from a resourceVersion get a 410 Gone ERROR event (as an API
  server whose watch cache moved on answers), so the client must re-list;
- `intercept(fn)`: fn(method, path, body) may return an HTTP status to answer instead of forwarding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable

import aiohttp
from aiohttp import web

Interceptor = Callable[[str, str, bytes], int | None]
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.down = False
        self.expire_next = 0  # this many watches resumed from a resourceVersion get 410 Gone
        self.interceptors: list[Interceptor] = []
        self.requests: Counter[str] = Counter()
        self.expired = 0
        self._watches: dict[int, web.Request] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> str:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        async def stop() -> None:
            await self._session.close()
            await self._runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def intercept(self, fn: Interceptor) -> None:
        self.interceptors.append(fn)

    def open_watches(self) -> int:
        return len(self._watches)

    def cut_watches(self) -> int:
        """End every open watch stream now; how many were cut."""

        async def cut() -> int:
            cut = list(self._watches.values())
            for request in cut:
                if request.transport is not None:
                    request.transport.close()
            return len(cut)

        return asyncio.run_coroutine_threadsafe(cut(), self._loop).result(10)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        watch = request.query.get("watch") in ("true", "1")
        self.requests[f"{request.method} {'watch' if watch else 'call'}"] += 1
        if self.down:
            raise web.HTTPServiceUnavailable(text="fault proxy: API server down")
        for fn in list(self.interceptors):
            status = fn(request.method, request.path_qs, body)
            if status is not None:
                message = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": status}
                return web.json_response(message, status=status)
        if watch and self.expire_next > 0 and request.query.get("resourceVersion") not in (None, "", "0"):
            self.expired += 1
            self.expire_next -= 1
            gone = {
                "type": "ERROR",
                "object": {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "code": 410,
                    "reason": "Expired",
                    "message": "too old resource version (fault proxy)",
                },
            }
            return web.Response(body=json.dumps(gone) + "\n", content_type="application/json")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        url = self.upstream + request.path_qs
        async with self._session.request(request.method, url, data=body or None, headers=headers) as up:
            out_headers = {k: v for k, v in up.headers.items() if k.lower() not in HOP_HEADERS}
            response = web.StreamResponse(status=up.status, headers=out_headers)
            if watch:
                self._watches[id(request)] = request
            try:
                await response.prepare(request)
                async for chunk in up.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionResetError, aiohttp.ClientError, RuntimeError):
                pass
            finally:
                self._watches.pop(id(request), None)
            return response
