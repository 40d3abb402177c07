"""`kubectl krr` end to end against the sandbox API server (seeded: Deployment shop/web with containers
web and log-shipper). The `kubectl` fixture runs the real kubectl binary, which finds `kubectl-krr` on
PATH; the `krr` fixture runs the same plugin code in-process (same argv, exit codes, stdout and stderr),
for the checks that need many calls (each kubectl-krr process spends seconds importing the client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from typer.testing import CliRunner

from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION, ResourceRecommendation
from krr_mcp.kubectl_plugin import app as plugin_app
from krr_mcp.kubectl_plugin import kube
from krr_mcp.kubectl_plugin.actions import approve_patch
from krr_mcp.kubectl_plugin.errors import Refused

BIN = str(Path(sys.executable).parent)
RR_NAME = "web-rightsize"


PROPOSED = {"requests": {"cpu": "250m", "memory": "640Mi"}, "limits": {"memory": "640Mi"}}


def rr_manifest(name: str = RR_NAME, proposed: dict[str, Any] = PROPOSED) -> dict[str, Any]:
    return ResourceRecommendation.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": "shop",
                "labels": {"krr-mcp.io/target-kind": "Deployment", "krr-mcp.io/target-name": "web"},
                "annotations": {"krr-mcp.io/created-by": "bridge"},
            },
            "spec": {
                "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "containers": [
                    {
                        "name": "web",
                        "current": {
                            "requests": {"cpu": "1", "memory": "1Gi"},
                            "limits": {"cpu": "2", "memory": "2Gi"},
                        },
                        "proposed": proposed,
                        "usage": {"cpuPercentileCores": "200m", "memoryPeak": "550Mi", "dataPoints": 2016},
                        "severity": "CRITICAL",
                    }
                ],
                "evidence": {"source": "native", "historyHours": 168, "cpuPercentile": 95},
                "reason": "web uses 200m CPU at p95 over 7 days but requests 1 core.",
            },
        }
    ).to_manifest()


class Kubectl:
    """The real kubectl, with this environment's bin directory (and so kubectl-krr) first on PATH."""

    def __init__(self, sandbox: Any) -> None:
        """`sandbox`: a SandboxHandle; its env() gives kubectl this sandbox's own discovery cache."""
        self.kubeconfig = str(sandbox.kubeconfig)
        env = sandbox.env()
        self.env = {**env, "PATH": os.pathsep.join([BIN, env.get("PATH", "")])}

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )


class InProcess:
    """`kubectl krr ARGS` without the processes: the plugin's typer app, called in this process."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = str(kubeconfig)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert args[0] == "krr"
        argv = [*args[1:]]
        if "--kubeconfig" not in argv:
            argv += ["--kubeconfig", self.kubeconfig]
        result = CliRunner().invoke(plugin_app, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def krr(kubectl: Kubectl) -> InProcess:
    return InProcess(Path(kubectl.kubeconfig))


@pytest.fixture
def kubectl(seeded_sandbox: Any) -> Kubectl:
    run = Kubectl(seeded_sandbox)
    created = run("apply", "-f", "-", stdin=yaml.safe_dump(rr_manifest()))
    assert created.returncode == 0, created.stderr
    seeded_sandbox.set_user("alice", ["system:authenticated", "sre"])
    return run


def read_rr(sandbox: Any, name: str = RR_NAME) -> dict[str, Any]:
    with sandbox.api_client() as api:
        return dict(
            client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, "shop", PLURAL, name)
        )


def set_status(sandbox: Any, status: dict[str, Any], name: str = RR_NAME) -> None:
    """Write status the way the operator does (status subresource)."""
    with sandbox.api_client() as api:
        client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
            GROUP, VERSION, "shop", PLURAL, name, {"status": status}
        )


def test_kubectl_discovers_the_plugin(kubectl: Kubectl) -> None:
    found = kubectl("plugin", "list")
    assert "kubectl-krr" in found.stdout, found.stdout + found.stderr
    assert kubectl("krr", "--help").returncode == 0


def test_list_plain_and_json(kubectl: Kubectl, krr: InProcess) -> None:
    plain = kubectl("krr", "list", "-n", "shop")
    assert plain.returncode == 0, plain.stderr
    header, row = plain.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "TARGET", "CONTAINER", "CPU"]
    assert row.split()[:8] == [RR_NAME, "Deployment/web", "web", "1", "->", "250m", "-75%", "1Gi"]
    rows = json.loads(krr("krr", "list", "-A", "-o", "json").stdout)
    assert [(r["namespace"], r["name"], r["memory"], r["memory_change"]) for r in rows] == [
        ("shop", RR_NAME, "1Gi -> 640Mi", "-38%")
    ]
    assert kubectl("krr", "list", "-n", "shop", "--phase", "Applied").stderr.startswith(
        "No resourcerecommendations"
    )
    assert json.loads(kubectl("krr", "list", "-A", "--target", "cart", "-o", "json").stdout) == []


def test_show_has_what_a_reviewer_needs(kubectl: Kubectl, krr: InProcess, seeded_sandbox: Any) -> None:
    shown = kubectl("krr", "show", RR_NAME, "-n", "shop")
    assert shown.returncode == 0, shown.stderr
    for needle in (
        "Recommendation:",
        "Deployment/web",
        "web uses 200m CPU",
        "requests.cpu",
        "Evidence:",
        "native",
        "Safety:",
        "History:",
        "Conditions:",
    ):
        assert needle in shown.stdout
    version = read_rr(seeded_sandbox)["metadata"]["resourceVersion"]
    assert f"--resource-version {version}" in shown.stdout
    as_yaml = yaml.safe_load(krr("krr", "show", RR_NAME, "-n", "shop", "-o", "yaml").stdout)
    assert as_yaml["spec"]["containers"][0]["proposed"]["requests"]["cpu"] == "250m"


def test_diff_shows_the_workload_before_and_after(kubectl: Kubectl) -> None:
    diff = kubectl("krr", "diff", RR_NAME, "-n", "shop")
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.startswith("--- live/Deployment.shop.web\n+++ proposed/Deployment.shop.web\n")
    changed = [line[0] + line[1:].strip() for line in diff.stdout.splitlines()[2:] if line[:1] in "+-"]
    assert changed == [
        "-cpu: '2'",
        "-memory: 2Gi",
        "+memory: 640Mi",
        "-cpu: '1'",
        "-memory: 1Gi",
        "+cpu: 250m",
        "+memory: 640Mi",
    ]


def test_approve_stamps_the_callers_identity_once(
    kubectl: Kubectl, krr: InProcess, seeded_sandbox: Any
) -> None:
    approved = kubectl("krr", "approve", RR_NAME, "-n", "shop")
    assert approved.returncode == 0, approved.stderr
    assert f"shop/{RR_NAME} approved by alice" in approved.stdout
    spec = read_rr(seeded_sandbox)["spec"]
    assert (spec["approved"], spec["approvedBy"]) == (True, "alice")
    managers = {m.get("manager") for m in read_rr(seeded_sandbox)["metadata"].get("managedFields") or []}
    assert "kubectl-krr" in managers
    again = krr("krr", "approve", RR_NAME, "-n", "shop")
    assert again.returncode == 3
    assert "already approved (by alice)" in again.stderr


def test_approve_shows_what_it_approves_at_the_version_it_pins(kubectl: Kubectl, seeded_sandbox: Any) -> None:
    version = read_rr(seeded_sandbox)["metadata"]["resourceVersion"]
    approved = kubectl("krr", "approve", RR_NAME, "-n", "shop")
    assert approved.returncode == 0, approved.stderr
    shown = approved.stdout
    assert f"Approving resourcerecommendation shop/{RR_NAME} at resourceVersion {version}" in shown
    assert "requests.cpu" in shown and "250m" in shown  # the proposal, from the RR itself
    assert "--- live/Deployment.shop.web" in shown and "+            memory: 640Mi" in shown  # the diff
    assert shown.index("Approving") < shown.index(f"shop/{RR_NAME} approved by alice")


def test_approve_refuses_when_the_rr_changes_while_it_is_shown(
    krr: InProcess, seeded_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone (with patch on RRs) bumps the proposal while the approver is reading it: the approval
    # is pinned to the version shown, so the API server refuses it and nothing is approved.
    from krr_mcp.kubectl_plugin import cli

    shown = cli.show_approval

    def show_then_edit(conn: Any, rr: dict[str, Any], out: Any, fmt: Any) -> None:
        shown(conn, rr, out, fmt)
        containers = rr["spec"]["containers"]
        bigger = {"spec": {"containers": [{**containers[0], "proposed": {"requests": {"cpu": "4"}}}]}}
        with seeded_sandbox.api_client() as api:
            client.CustomObjectsApi(api).patch_namespaced_custom_object(
                GROUP, VERSION, "shop", PLURAL, RR_NAME, bigger
            )

    monkeypatch.setattr(cli, "show_approval", show_then_edit)
    result = krr("krr", "approve", RR_NAME, "-n", "shop")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "changed since it was read" in result.stderr
    assert read_rr(seeded_sandbox)["spec"]["approved"] is False


def test_approve_still_shows_the_proposal_when_the_workload_is_unreadable(
    krr: InProcess, seeded_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An approver holding only recommendation-approver may not read the Deployment: the proposal
    # itself (what is approved) is still shown, with a note instead of the diff.
    from krr_mcp.kubectl_plugin import cli
    from krr_mcp.kubectl_plugin.errors import PluginError

    def forbidden(*_: Any) -> dict[str, Any]:
        raise PluginError('reading Deployment shop/web: deployments.apps "web" is forbidden')

    monkeypatch.setattr(cli.kube, "get_workload", forbidden)
    result = krr("krr", "approve", RR_NAME, "-n", "shop")
    assert result.returncode == 0, result.stderr
    assert "requests.cpu" in result.stdout and "250m" in result.stdout
    assert "(no workload diff: reading Deployment shop/web" in result.stdout


def test_approve_asks_on_a_terminal(
    krr: InProcess, seeded_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from krr_mcp.kubectl_plugin import cli

    monkeypatch.setattr(cli, "_interactive", lambda: True)
    monkeypatch.setattr(cli.typer, "confirm", lambda *a, **k: False)
    declined = krr("krr", "approve", RR_NAME, "-n", "shop")
    assert declined.returncode == 3 and "not approved" in declined.stderr
    assert read_rr(seeded_sandbox)["spec"]["approved"] is False
    monkeypatch.setattr(cli.typer, "confirm", lambda *a, **k: True)
    assert krr("krr", "approve", RR_NAME, "-n", "shop").returncode == 0
    assert read_rr(seeded_sandbox)["spec"]["approvedBy"] == "alice"


def test_approve_refuses_a_version_the_reviewer_did_not_see(kubectl: Kubectl, seeded_sandbox: Any) -> None:
    seen = read_rr(seeded_sandbox)["metadata"]["resourceVersion"]
    assert kubectl("annotate", "rr", RR_NAME, "-n", "shop", "note=edited").returncode == 0
    stale = kubectl("krr", "approve", RR_NAME, "-n", "shop", "--resource-version", seen)
    assert stale.returncode == 3
    assert "changed since you reviewed it" in stale.stderr
    assert read_rr(seeded_sandbox)["spec"]["approved"] is False


def test_the_api_server_refuses_an_approval_built_on_a_stale_read(
    kubectl: Kubectl, seeded_sandbox: Any
) -> None:
    conn = kube.connect(str(seeded_sandbox.kubeconfig))
    before = kube.get_rr(conn, "shop", RR_NAME)
    assert kubectl("annotate", "rr", RR_NAME, "-n", "shop", "note=edited").returncode == 0
    with pytest.raises(Refused, match="changed since it was read"):
        kube.merge_patch_rr(conn, "shop", RR_NAME, approve_patch(before, "alice", before_now()))
    assert read_rr(seeded_sandbox)["spec"]["approved"] is False


def before_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_exit_codes_for_scripts(kubectl: Kubectl, krr: InProcess) -> None:
    assert kubectl("krr", "show", "nope", "-n", "shop").returncode == 4  # through kubectl: codes pass through
    assert kubectl("krr", "approve", "-n", "shop").returncode == 2
    assert krr("krr", "approve", "nope", "-n", "shop").returncode == 4
    assert krr("krr", "approve", "a", "b", "--resource-version", "1").returncode == 2
    assert krr("krr", "list", "-n", "shop", "-A").returncode == 2
    assert krr("krr", "list", "--kubeconfig", "/nonexistent").returncode == 1
    wrong_context = krr("krr", "list", "--context", "nope")
    assert (wrong_context.returncode, wrong_context.stderr) == (
        1,
        f"error: context 'nope' not found in {krr.kubeconfig}\n",
    )
    assert krr("krr", "rollback", RR_NAME, "-n", "shop").returncode == 3


def test_reject_is_final(krr: InProcess, seeded_sandbox: Any) -> None:
    rejected = krr("krr", "reject", RR_NAME, "-n", "shop")
    assert rejected.returncode == 0, rejected.stderr
    rr = read_rr(seeded_sandbox)
    assert rr["spec"]["rejected"] is True
    assert rr["metadata"]["annotations"]["krr-mcp.io/rejected-by"] == "alice"
    assert krr("krr", "approve", RR_NAME, "-n", "shop").returncode == 3


APPLY = {
    "action": "apply",
    "outcome": "Succeeded",
    "at": "2026-11-25T09:05:00Z",
    "actor": "alice",
    "containers": [
        {
            "name": "web",
            "before": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            "after": {"requests": {"cpu": "250m", "memory": "640Mi"}, "limits": {"memory": "640Mi"}},
        }
    ],
}


def test_rollback_and_audit_of_an_applied_change(krr: InProcess, seeded_sandbox: Any) -> None:
    assert krr("krr", "approve", RR_NAME, "-n", "shop").returncode == 0
    set_status(seeded_sandbox, {"phase": "Applied", "approvedAt": "2026-11-25T09:04:00Z", "history": [APPLY]})
    seeded_sandbox.set_user("bob")
    rolled = krr("krr", "rollback", RR_NAME, "-n", "shop")
    assert rolled.returncode == 0, rolled.stderr
    rr = read_rr(seeded_sandbox)
    assert rr["spec"]["rollbackRequested"] is True
    assert rr["spec"]["rollbackRequestedBy"] == "bob"
    assert krr("krr", "rollback", RR_NAME, "-n", "shop").returncode == 3
    audit = json.loads(krr("krr", "audit", "-A", "-o", "json").stdout)
    assert [(r["event"], r["actor"], r["time"]) for r in audit] == [
        ("approve", "alice", "2026-11-25T09:04:00Z"),
        ("apply", "alice", "2026-11-25T09:05:00Z"),
    ]
    diff = krr("krr", "diff", RR_NAME, "-n", "shop", "--rollback")
    assert diff.returncode == 0
    assert "no difference" in diff.stderr  # the sandbox workload was never changed by an operator here
