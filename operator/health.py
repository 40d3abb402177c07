"""The operator's probe and metrics endpoint (aiohttp, on the operator's event loop).

- `/healthz`: 200 while the process serves (kopf's own liveness endpoint can be used as well);
- `/readyz`: 200 once kopf is ready (its ready flag) and the operator is not halted, else 503;
- `/metrics`: the Prometheus text format of `metrics.REGISTRY`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .metrics import REGISTRY

Flag = asyncio.Event | threading.Event


@dataclass
class ProbeServer:
    ready: Flag
    halted: threading.Event
    runner: web.AppRunner | None = None
    port: int = 0

    async def start(self, host: str, port: int) -> int:
        """Serve on host:port (0: any free port); the port bound."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        await web.SockSite(self.runner, sock).start()
        self.port = int(sock.getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.ready.is_set() and not self.halted.is_set():
            return web.Response(text="ready")
        return web.Response(status=503, text="not ready")

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
