"""`krr-mcp operator` as a user runs it: a separate process on a kubeconfig, audit lines as JSON on stdout."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import yaml
from typer.testing import CliRunner

from krr_mcp.cli import app
from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import HALVED, rr_manifest, web_deployment
from .operator_harness import wait_for
from .test_operator_sandbox import (
    approve,
    container_resources,
    deployment_json,
    kubectl,
    phase_is,
    rolled_out,
)


def test_operator_command_applies_an_approved_rr(sandbox: SandboxHandle) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    cmd = [sys.executable, "-m", "krr_mcp.cli", "operator", "--kubeconfig", str(sandbox.kubeconfig)]
    proc = subprocess.Popen(
        # The sandbox runs no admission policies: the operator is told so explicitly.
        [*cmd, "--poll-interval", "0.5", "-n", "default", "--allow-without-admission-policy"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
        wait_for("phase Proposed", phase_is(sandbox, "Proposed"), timeout=30)
        approve(sandbox, who="bob")
        wait_for("phase Applied", phase_is(sandbox, "Applied"))
        assert container_resources(deployment_json(sandbox), "app") == HALVED
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    audit = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    applied = [a for a in audit if a["event"] == "rr.apply" and a["outcome"] == "Succeeded"]
    assert len(applied) == 1
    assert applied[0]["actor"] == "bob" and applied[0]["after"] == {"app": HALVED}


def test_operator_command_refuses_conflicting_flags() -> None:
    result = CliRunner().invoke(app, ["operator", "-n", "default", "--all-namespaces"])
    assert result.exit_code == 2
    assert "either --namespace or --all-namespaces" in result.output
