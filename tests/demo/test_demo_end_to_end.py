"""`krr-mcp demo` end to end, as a new user runs it: a subprocess, no kubeconfig, no terminal.

It runs with --keep-running so the final state can be checked through the kubeconfig it leaves: the
RR was approved by the kubectl user, applied, then rolled back, and the workload is the seed's again.
It runs twice: with Prometheus (a live scan of generated history) and with a PATH on which there is no
`prometheus`, as on a new user's machine (the recorded scan shipped with krr-mcp).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from krr_mcp.demo.walkthrough import RECORDED_SCAN_NOTICE
from krr_mcp.sandbox.seed import default_objects

KRR_MCP = Path(sys.executable).parent / "krr-mcp"
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None and not Path("/usr/bin/prometheus").exists(),
    reason="the demo's scan needs a prometheus binary (apt-get install prometheus)",
)
KUBECTL_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
VENV_ONLY_PATH = str(Path(sys.executable).parent)  # krr-mcp, kubectl, kubectl-krr; no prometheus


def _seed_template(kind: str, namespace: str, name: str) -> dict:
    for obj in default_objects():
        meta = obj["metadata"]
        if (obj["kind"], meta.get("namespace"), meta["name"]) == (kind, namespace, name):
            return obj["spec"]["template"]
    raise AssertionError(f"{kind} {namespace}/{name} is not in the seed")


class DemoProcess:
    """The demo subprocess; its stdout is collected by a thread so the test can wait for a line."""

    def __init__(
        self,
        state_dir: Path,
        path: str = KUBECTL_PATH,
        krr_mcp: Path = KRR_MCP,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        """`krr-mcp demo --non-interactive --keep-running --state-dir STATE_DIR EXTRA...`; `krr_mcp`: the
        executable (this checkout's by default); `env` replaces os.environ."""
        env = {**(os.environ if env is None else env), "PATH": path, "COLUMNS": "160"}
        env.pop("KUBECONFIG", None)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                str(krr_mcp),
                "demo",
                "--non-interactive",
                "--keep-running",
                "--state-dir",
                str(state_dir),
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output:
                return
            if self.proc.poll() is not None:
                self.reader.join(timeout=5)
                pytest.fail(f"the demo exited {self.proc.returncode} before {needle!r}:\n{self.output}")
            time.sleep(0.2)
        pytest.fail(f"no {needle!r} within {timeout}s:\n{self.output}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.reader.join(timeout=5)


def kubectl(kubeconfig: str, *args: str, context: str | None = None) -> str:
    cache = str(Path(kubeconfig).parent / "kube-cache")  # the demo's own (fresh) discovery cache
    chosen = ["--context", context] if context else []
    done = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", cache, *chosen, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": KUBECTL_PATH},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_every_step_passed(out: str) -> None:
    """Every step ran, in order, none failed, and the workload was restored."""
    steps = re.findall(r"^Step (\d+)/(\d+): ", out, flags=re.MULTILINE)
    assert steps and [int(n) for n, _ in steps] == list(range(1, int(steps[0][1]) + 1)), out
    assert "FAILED" not in out, out
    assert "identical to the original" in out


def check_the_whole_loop(demo: DemoProcess, tmp_path: Path) -> str:
    """Wait for the end of the walk-through, check every step and the final state; its output."""
    demo.wait_for("The sandbox keeps running", timeout=240)
    out = demo.output
    kubeconfig = str(tmp_path / "state" / "demo.kubeconfig")
    assert f"kubeconfig: {kubeconfig}" in out

    assert_every_step_passed(out)
    # The assistant went through the MCP server; the human used kubectl patch.
    assert "krr-mcp serve --kubeconfig" in out and "scan_recommendations" in out
    assert "$ kubectl patch resourcerecommendation" in out and '"approved":true' in out

    # The final state, read through the kubeconfig the demo leaves.
    rrs = json.loads(kubectl(kubeconfig, "get", "recommendations", "-A", "-o", "json"))["items"]
    assert len(rrs) == 1
    rr = rrs[0]
    user = json.loads(kubectl(kubeconfig, "auth", "whoami", "-o", "json"))["status"]["userInfo"]["username"]
    assert rr["spec"]["approved"] is True and rr["spec"]["approvedBy"] == user
    assert rr["spec"]["rollbackRequested"] is True
    assert rr["status"]["phase"] == "RolledBack"
    history = [(h["action"], h["outcome"]) for h in rr["status"]["history"]]
    assert history == [("apply", "Succeeded"), ("rollback", "Succeeded")]
    apply_entry = rr["status"]["history"][0]
    for change in apply_entry["containers"]:
        proposed = next(c["proposed"] for c in rr["spec"]["containers"] if c["name"] == change["name"])
        assert {k: v for k, v in change["after"].items() if v} == {k: v for k, v in proposed.items() if v}

    target = rr["spec"]["target"]
    namespace = rr["metadata"]["namespace"]
    workload = json.loads(
        kubectl(kubeconfig, "get", target["kind"].lower(), target["name"], "-n", namespace, "-o", "json")
    )
    assert workload["spec"]["template"] == _seed_template(target["kind"], namespace, target["name"])
    assert workload["metadata"]["generation"] == 3  # applied once, restored once
    return out


@needs_prometheus
def test_the_demo_runs_the_whole_loop_and_restores_the_workload(tmp_path: Path) -> None:
    demo = DemoProcess(tmp_path / "state")
    try:
        out = check_the_whole_loop(demo, tmp_path)
        assert RECORDED_SCAN_NOTICE not in out and "--scan-report" not in out
        assert "Prometheus at http://" in out
    finally:
        code = demo.stop()
    assert code == 0, demo.output


def test_without_prometheus_the_demo_scans_the_recorded_report_and_runs_to_the_end(tmp_path: Path) -> None:
    """A new user's machine: no prometheus or promtool on PATH (only the venv's bin directory)."""
    for tool in ("prometheus", "promtool", "krr"):
        assert shutil.which(tool, path=VENV_ONLY_PATH) is None, f"{tool} is in {VENV_ONLY_PATH}"
    demo = DemoProcess(tmp_path / "state", path=VENV_ONLY_PATH)
    try:
        out = check_the_whole_loop(demo, tmp_path)
        assert RECORDED_SCAN_NOTICE in out
        assert "--scan-report" in out and "recorded-scan.json" in out
        assert "not from a live scan" in out
        assert "Prometheus at http://" not in out
    finally:
        code = demo.stop()
    assert code == 0, demo.output


def run_demo(*args: str, stdin: str = "", timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": KUBECTL_PATH, "COLUMNS": "160"}
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        [str(KRR_MCP), "demo", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@needs_prometheus
def test_a_human_who_says_no_leaves_the_workload_alone(tmp_path: Path) -> None:
    """Interactive: the user lets the assistant create the proposal (y), then refuses to approve (n)."""
    done = run_demo(
        "--interactive", "--mcp-transport", "in-process", "--state-dir", str(tmp_path), stdin="y\nn\n"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Create 1 ResourceRecommendation(s) for human review?" in done.stdout
    assert '"rejected":true' in done.stdout
    assert "the workload is unchanged" in done.stdout
    assert "Step 8/" not in done.stdout  # nothing was applied, so nothing to roll back


def test_a_failing_step_is_named_and_exits_non_zero(tmp_path: Path) -> None:
    done = run_demo("--non-interactive", "--kubeconfig", str(tmp_path / "missing"), timeout=60)
    assert done.returncode == 1
    assert "The demo stopped at step 1/10: Connect to the cluster" in done.stdout
    assert "does not exist" in done.stdout


def test_without_the_control_plane_binaries_the_real_cluster_demo_says_how_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRR_MCP_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("KRR_MCP_CONTROLPLANE_BIN", raising=False)
    done = run_demo("--cluster", "real", "--non-interactive", "--state-dir", str(tmp_path), timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "The demo stopped at step 1/10: Start a real Kubernetes control plane" in done.stdout
    assert "krr-mcp cluster build" in done.stdout or "Go is not installed" in done.stdout


@pytest.mark.parametrize(
    "args",
    [("--cluster", "kind"), ("--cluster", "real", "--kubeconfig", "/dev/null")],
    ids=["unknown cluster", "real with a kubeconfig"],
)
def test_the_cluster_option_is_one_local_cluster(args: tuple[str, ...], tmp_path: Path) -> None:
    done = run_demo(*args, "--non-interactive", "--state-dir", str(tmp_path), timeout=60)
    assert done.returncode == 2 and "--cluster" in done.stderr, done.stdout + done.stderr
