"""Turn OpenMetrics files into a Prometheus TSDB with promtool, and run Prometheus on it.

`build_tsdb(spec, directory)` writes the history and runs `promtool tsdb create-blocks-from openmetrics`
once per 2-hour file (a few at a time). `PrometheusProcess(tsdb_dir)` starts Debian's
/usr/bin/prometheus on a free 127.0.0.1 port on that TSDB, waits until /-/ready answers, and stops it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

import httpx

from .openmetrics import iter_openmetrics
from .spec import HistorySpec

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


class TsdbError(RuntimeError):
    """promtool or prometheus failed; the message carries their output."""


def _tool(name: str, default: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    if os.path.exists(default):
        return default
    raise TsdbError(f"{name} is not installed (apt-get install prometheus)")


def create_blocks(
    files: Iterable[Path],
    tsdb_dir: Path,
    *,
    parallel: int = 2,
    promtool: str | None = None,
    delete: bool = False,
) -> None:
    """Run promtool once per OpenMetrics file (as they come), writing blocks into tsdb_dir."""
    binary = promtool or _tool("promtool", PROMTOOL)
    tsdb_dir.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        proc = subprocess.run(
            [binary, "tsdb", "create-blocks-from", "openmetrics", "-q", str(path), str(tsdb_dir)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            raise TsdbError(f"promtool failed on {path.name}: {(proc.stderr or proc.stdout)[-2000:]}")
        if delete:
            path.unlink()

    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        futures: list[concurrent.futures.Future[None]] = []
        for path in files:
            futures.append(pool.submit(one, path))
            while sum(1 for f in futures if not f.done()) > parallel * 2:  # bound the files on disk
                concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
            for f in [f for f in futures if f.done()]:
                f.result()
        for f in futures:
            f.result()


def spec_fingerprint(spec: HistorySpec) -> str:
    """A stable text describing the spec (to reuse a TSDB built from the same spec)."""
    return json.dumps(asdict(spec), sort_keys=True, default=str)


def build_tsdb(
    spec: HistorySpec, directory: Path, *, keep_openmetrics: bool = False, parallel: int = 2
) -> Path:
    """Write `spec` as OpenMetrics and load it into `directory`/tsdb (reused when built from `spec`)."""
    tsdb = directory / "tsdb"
    marker = directory / "spec.json"
    fingerprint = spec_fingerprint(spec)
    if marker.exists() and marker.read_text() == fingerprint and tsdb.is_dir():
        return tsdb
    shutil.rmtree(tsdb, ignore_errors=True)
    marker.unlink(missing_ok=True)
    openmetrics = directory / "openmetrics"
    shutil.rmtree(openmetrics, ignore_errors=True)
    create_blocks(iter_openmetrics(spec, openmetrics), tsdb, parallel=parallel, delete=not keep_openmetrics)
    if not keep_openmetrics:
        shutil.rmtree(openmetrics, ignore_errors=True)
    marker.write_text(fingerprint)
    return tsdb


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusProcess:
    """A Prometheus server on `tsdb_dir`, listening on 127.0.0.1 (context manager: start/stop)."""

    def __init__(
        self,
        tsdb_dir: Path,
        *,
        binary: str | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.tsdb_dir = Path(tsdb_dir)
        self.binary = binary or _tool("prometheus", PROMETHEUS)
        self.port = port
        self.extra_args = extra_args
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise TsdbError("Prometheus is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 60.0) -> str:
        """Start Prometheus and wait until it is ready; return its URL."""
        self._workdir = tempfile.TemporaryDirectory(prefix="krr-mcp-prometheus-")
        work = Path(self._workdir.name)
        config = work / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self._log = work / "prometheus.log"
        for _attempt in range(5):
            port = self.port or free_port()
            args = [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.tsdb_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=100y",
                "--storage.tsdb.max-block-duration=2h",  # no background compaction of loaded blocks
                "--log.level=warn",
                *self.extra_args,
            ]
            with self._log.open("wb") as log:
                self._proc = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            self.port = port
            if self._wait_ready(timeout):
                return self.url
            text = self._log.read_text(errors="replace")
            self.stop()
            if "address already in use" not in text:
                raise TsdbError(f"Prometheus did not become ready within {timeout:g} s: {text[-2000:]}")
            self.port = None
        raise TsdbError("Prometheus could not find a free port")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop Prometheus (SIGTERM, then SIGKILL after 10 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> PrometheusProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
