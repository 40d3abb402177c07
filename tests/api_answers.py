"""A local HTTP server that answers every request (any method, any path) with the next queued
(status, body): the API server's error answers, real ones recorded and hostile ones made up, sent to
the client (`krr_mcp.kube.client.Kube`) over real HTTP. Used by tests/kube and the corpus (kube/*.http)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kubernetes import client

from krr_mcp.kube.client import Kube


class Answers:
    """The queue of (status, body) the server answers with, in order."""

    def __init__(self) -> None:
        self.queued: list[tuple[int, bytes]] = []

    def add(self, status: int, body: bytes) -> None:
        self.queued.append((status, body))

    def add_entry(self, path: Path) -> None:
        """A corpus entry: its first line is the HTTP status, the rest the body as it is."""
        status, _, body = path.read_bytes().partition(b"\n")
        self.add(int(status), body)


@contextlib.contextmanager
def answering_kube() -> Iterator[tuple[Kube, Answers]]:
    """A `Kube` on a local server answering from `Answers`; the server stops on exit."""
    answers = Answers()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body = answers.queued.pop(0)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PATCH = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with client.ApiClient(configuration) as api:
            yield Kube(api), answers
    finally:
        server.shutdown()
        server.server_close()
