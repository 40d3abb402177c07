"""A stand-in for OpenCost's Allocation API, for the bridge's, the operator's and the corpus' tests.

OpenCost cannot run here (it needs a cluster, its own Prometheus and a cloud price feed), so
`OpenCostStub` serves OpenCost's documented `/allocation` answer (opencost.io/docs/integrations/api:
`{"code": 200, "data": [{<name>: {"cpuCoreHours", "cpuCost", "ramByteHours", "ramCost", ...}}]}`) from a
local HTTP server: what is tested is how krr-mcp reads that shape and what it does when the answer is
bad or missing, not OpenCost itself. The bad answers are the corpus' (tests/corpus/opencost/*.http).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

CORPUS = Path(__file__).parent / "corpus" / "opencost"


class OpenCostStub:
    """A local HTTP server answering GET /allocation with `answer` (status, body) and recording queries."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, b"{}")
        self.queries: list[dict[str, list[str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/allocation":
                    self.send_error(404)
                    return
                stub.queries.append(parse_qs(parts.query))
                status, body = stub.answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, status: int, body: Any) -> None:
        self.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())

    def serve_entry(self, path: Path) -> None:
        """Serve a corpus entry: its first line is the HTTP status, the rest the body as it is."""
        status, _, body = path.read_bytes().partition(b"\n")
        self.serve(int(status), body)

    def stop(self) -> None:
        """Nothing listens on its port any more."""
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def opencost_running() -> Iterator[OpenCostStub]:
    stub = OpenCostStub()
    stub.thread.start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def opencost() -> Iterator[OpenCostStub]:
    with opencost_running() as stub:
        yield stub


def allocation(name: str, cpu_hours: float, cpu_cost: float, ram_gib_hours: float, ram_cost: float) -> Any:
    """One allocation as OpenCost's /allocation API documents it (the fields read, and some others)."""
    return {
        "name": name,
        "properties": {"cluster": "cluster-one"},
        "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"},
        "cpuCores": cpu_hours / 168,
        "cpuCoreHours": cpu_hours,
        "cpuCost": cpu_cost,
        "ramBytes": ram_gib_hours * 2**30 / 168,
        "ramByteHours": ram_gib_hours * 2**30,
        "ramCost": ram_cost,
        "pvCost": 1.5,
        "networkCost": 0,
        "totalCost": cpu_cost + ram_cost + 1.5,
    }


# Two allocations: 100 core-hours for 4.00 and 60 for 2.40 -> 0.04 per core-hour; 300 GiB-hours for 1.00
# and 100 for 1.00 -> 0.005 per GiB-hour.
TWO_ALLOCATIONS = {
    "code": 200,
    "data": [
        {
            "cluster-one": allocation("cluster-one", 100, 4.0, 300, 1.0),
            "__idle__": allocation("__idle__", 60, 2.4, 100, 1.0),
        }
    ],
}


def bad_answers() -> list[Path]:
    """The corpus' OpenCost answers that price nothing (their verdict says the table priced)."""
    return [
        path
        for path in sorted(CORPUS.glob("*.http"))
        if path.with_name(path.name + ".expected").read_text().startswith("refused")
    ]
