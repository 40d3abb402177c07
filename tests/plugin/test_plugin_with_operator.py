"""`kubectl krr approve` and `rollback` drive the real operator: approve -> Applied, rollback -> the
workload restored exactly, and the audit shows who did what (real kubectl, sandbox, kopf in a thread)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from krr_operator.main import OperatorConfig

from ..operator.operator_harness import OperatorThread, operator_running, wait_for
from .test_plugin_sandbox import RR_NAME, Kubectl, read_rr, rr_manifest

# Within the built-in policy's step (-50% at most), so the operator's safety rules allow it.
STEP = {"requests": {"cpu": "500m", "memory": "640Mi"}, "limits": {"memory": "1Gi"}}


@pytest.fixture
def operator(seeded_sandbox: Any) -> Iterator[OperatorThread]:
    cfg = OperatorConfig(  # the sandbox runs no admission policies
        kubeconfig=str(seeded_sandbox.kubeconfig), poll_interval=0.3, allow_without_admission_policy=True
    )
    with operator_running(cfg) as op:
        yield op


def phase(sandbox: Any, wanted: str) -> Any:
    return wait_for(f"phase {wanted}", lambda: (read_rr(sandbox).get("status") or {}).get("phase") == wanted)


def web_template(sandbox: Any) -> dict[str, Any]:
    return sandbox.get("apps/v1", "Deployment", "web", "shop")["spec"]["template"]


def test_approve_and_rollback_through_the_plugin(seeded_sandbox: Any, operator: OperatorThread) -> None:
    kubectl = Kubectl(seeded_sandbox)
    original = web_template(seeded_sandbox)
    manifest = rr_manifest(proposed=STEP)
    manifest["spec"]["containers"][0]["usage"]["memoryPeak"] = "550Mi"
    assert kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest)).returncode == 0
    seeded_sandbox.set_user("alice")
    wait_for("the safety report", lambda: (read_rr(seeded_sandbox).get("status") or {}).get("safety"))
    assert web_template(seeded_sandbox) == original  # proposed, not approved: untouched

    approved = kubectl("krr", "approve", RR_NAME, "-n", "shop")
    assert approved.returncode == 0, approved.stderr
    phase(seeded_sandbox, "Applied")
    web = web_template(seeded_sandbox)["spec"]["containers"][0]
    assert web["resources"] == STEP

    preview = kubectl("krr", "diff", RR_NAME, "-n", "shop", "--rollback")
    changed = {line[0] + line[1:].strip() for line in preview.stdout.splitlines()[2:] if line[:1] in "+-"}
    # what a rollback restores: the CPU limit and the original requests (difflib may pair equal lines
    # across sections, so only the distinctive ones are checked)
    assert {"+cpu: '2'", "+memory: 2Gi", "+cpu: '1'", "-cpu: 500m", "-memory: 640Mi"} <= changed

    seeded_sandbox.set_user("bob")
    rolled = kubectl("krr", "rollback", RR_NAME, "-n", "shop")
    assert rolled.returncode == 0, rolled.stderr
    phase(seeded_sandbox, "RolledBack")
    assert web_template(seeded_sandbox) == original

    audit = json.loads(kubectl("krr", "audit", "-n", "shop", "-o", "json").stdout)
    assert [(r["event"], r["outcome"]) for r in audit] == [
        ("approve", "-"),
        ("apply", "Succeeded"),
        ("rollback", "Succeeded"),
    ]
    # Each step names its own person: alice approved (and so the apply), bob asked for the rollback.
    assert [r["actor"] for r in audit] == ["alice", "alice", "bob"]
    events = json.loads(kubectl("get", "events", "-n", "shop", "-o", "json").stdout)["items"]
    rollback_events = [e["message"] for e in events if e["reason"] == "RollbackRequested"]
    assert rollback_events and all("actor bob" in m for m in rollback_events), rollback_events
