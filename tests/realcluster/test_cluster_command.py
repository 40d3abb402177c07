"""`krr-mcp cluster start` as a person runs it: one ready line, a kubeconfig whose contexts work with the
real kubectl, and on SIGTERM every component stops (exit 0, no process left, the data folder gone)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from krr_mcp.cluster.install import kubectl_binary

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(300)]
KRR_MCP = Path(sys.executable).parent / "krr-mcp"


def _children(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
                frontier.append(int(entry.name))
    return found


def test_start_prints_one_ready_line_serves_alice_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "cluster.kubeconfig"
    command = ["cluster", "start", "--kubeconfig", str(kubeconfig), "--nodes", "2", "--bare", "--no-build"]
    process = subprocess.Popen(
        [str(KRR_MCP), *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:  # stdout closed without the ready line: the command is ending; keep its reason
        process.wait(60)
    said = process.stderr.read() if process.poll() is not None and process.stderr else ""
    assert line.startswith("krr-mcp cluster ready: https://127.0.0.1:"), line + said
    children = _children(process.pid)
    names = {Path(os.readlink(f"/proc/{pid}/exe")).name for pid in children if Path(f"/proc/{pid}").exists()}
    assert {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} <= names

    kubectl = [kubectl_binary(), f"--kubeconfig={kubeconfig}"]
    nodes = json.loads(
        subprocess.run(
            [*kubectl, "get", "nodes", "-o", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert len(nodes["items"]) == 2
    whoami = subprocess.run(
        [*kubectl, "--context=alice", "auth", "whoami", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "alice"

    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, process.stderr.read() if process.stderr else ""
    time.sleep(0.5)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "a component outlived the command"
