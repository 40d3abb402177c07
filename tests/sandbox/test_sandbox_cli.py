"""`krr-mcp sandbox` as a user runs it: one ready line, a kubeconfig kubectl can use, a clean exit (0) on
SIGTERM/SIGINT even with a watch open."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

KRR_MCP = Path(sys.prefix) / "bin" / "krr-mcp"


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str, Path]:
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    proc = subprocess.Popen(
        [str(KRR_MCP), "sandbox", "--kubeconfig", str(kubeconfig), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"ready: (http://127\.0\.0\.1:\d+) \(kubeconfig: (\S+);", line)
    assert match, f"no ready line: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
    return proc, match.group(1), Path(match.group(2))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_line_kubeconfig_and_clean_shutdown_with_an_open_watch(
    tmp_path: Path, sig: signal.Signals
) -> None:
    proc, url, kubeconfig = start(tmp_path, "--seed", "default", "--user", "carol")
    try:
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["current-context"] == "krr-mcp-sandbox"
        assert config["clusters"][0]["cluster"]["server"] == url
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        kubectl = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kube-cache")]
        out = subprocess.run(
            [*kubectl, "get", "deploy", "-n", "shop", "-o", "name"], capture_output=True, text=True
        )
        assert out.stdout.split() == ["deployment.apps/cart", "deployment.apps/web"]
        who = subprocess.run(
            [*kubectl, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
            capture_output=True,
            text=True,
        )
        assert who.stdout == "carol"
        watch = subprocess.Popen([*kubectl, "get", "ns", "-w"], stdout=subprocess.PIPE, text=True)
        assert watch.stdout is not None and watch.stdout.readline().startswith("NAME")
        time.sleep(0.2)
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        watch.wait(timeout=10)  # the server closed the stream, so kubectl's watch ends too
    finally:
        if proc.poll() is None:
            proc.kill()


def test_seed_none_serves_only_system_namespaces(tmp_path: Path) -> None:
    proc, _, kubeconfig = start(tmp_path, "--seed", "none", "--port", "0")
    try:
        out = subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "--cache-dir",
                str(tmp_path / "c"),
                "get",
                "ns",
                "-o",
                "name",
            ],
            capture_output=True,
            text=True,
        )
        assert "namespace/shop" not in out.stdout and "namespace/default" in out.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_default_kubeconfig_path_is_under_dot_krr_mcp(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(KRR_MCP), "sandbox", "--seed", "none"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        assert "kubeconfig: .krr-mcp/sandbox.kubeconfig" in proc.stdout.readline()
        assert (tmp_path / ".krr-mcp" / "sandbox.kubeconfig").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_bad_seed_is_a_usage_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(KRR_MCP), "sandbox", "--seed", "lots"], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 2 and "--seed" in out.stderr


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [str(KRR_MCP), "sandbox", "--port", str(port), "--seed", "none"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
    assert out.returncode == 1
    assert "cannot start" in out.stderr and "Traceback" not in out.stderr
