"""The sandbox's rollout controller: status follows a template change; the fail annotation makes the
rollout fail the way the operator must detect (ProgressDeadlineExceeded, readyReplicas stuck)."""

from __future__ import annotations

import json
import time
from typing import Any

from krr_mcp.sandbox.controllers import FAIL_ANNOTATION, next_phase, rollout_status
from krr_mcp.sandbox.testing import SandboxHandle


def wait_for(
    sb: SandboxHandle, kind: str, name: str, namespace: str, check: Any, timeout: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        obj = sb.get("apps/v1", kind, name, namespace)
        if obj is not None and check(obj):
            return obj
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} {namespace}/{name} never reached the expected state: {obj}")
        time.sleep(0.02)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


def test_a_template_change_rolls_out(sb: SandboxHandle) -> None:
    out = sb.kubectl("set", "resources", "deploy/web", "-n", "shop", "-c", "web", "--requests=cpu=400m")
    assert out.returncode == 0, out.stderr
    done = wait_for(sb, "Deployment", "web", "shop", lambda o: o["status"]["observedGeneration"] == 2)
    assert done["status"]["updatedReplicas"] == done["status"]["readyReplicas"] == 3
    assert condition(done, "Progressing")["reason"] == "NewReplicaSetAvailable"
    owners = {e["manager"] for e in done["metadata"]["managedFields"] if e.get("subresource") == "status"}
    assert "krr-mcp-sandbox-controller" in owners


def test_the_fail_annotation_makes_a_rollout_fail(sb: SandboxHandle) -> None:
    patch = json.dumps({"spec": {"template": {"metadata": {"annotations": {FAIL_ANNOTATION: "fail"}}}}})
    assert sb.kubectl("patch", "deploy/cart", "-n", "shop", "-p", patch).returncode == 0
    failed = wait_for(
        sb,
        "Deployment",
        "cart",
        "shop",
        lambda o: condition(o, "Progressing")["reason"] == "ProgressDeadlineExceeded",
    )
    status = failed["status"]
    assert status["observedGeneration"] == 2 and condition(failed, "Progressing")["status"] == "False"
    assert (
        status["readyReplicas"] == 2 and status["updatedReplicas"] == 1 and status["unavailableReplicas"] >= 1
    )
    rollout = sb.kubectl("rollout", "status", "deploy/cart", "-n", "shop", "--timeout=10s")
    assert rollout.returncode != 0 and "exceeded its progress deadline" in rollout.stderr
    # Rolling back (removing the annotation) recovers.
    assert (
        sb.kubectl(
            "patch",
            "deploy/cart",
            "-n",
            "shop",
            "--type",
            "json",
            "-p",
            '[{"op":"remove","path":"/spec/template/metadata/annotations"}]',
        ).returncode
        == 0
    )
    wait_for(
        sb,
        "Deployment",
        "cart",
        "shop",
        lambda o: condition(o, "Progressing")["reason"] == "NewReplicaSetAvailable",
    )


def test_statefulset_and_daemonset_status_follow(sb: SandboxHandle) -> None:
    for kind, name, ns in (("statefulset", "postgres", "billing"), ("daemonset", "node-agent", "shop")):
        out = sb.kubectl("set", "resources", f"{kind}/{name}", "-n", ns, "--limits=memory=300Mi")
        assert out.returncode == 0, out.stderr
    sts = wait_for(sb, "StatefulSet", "postgres", "billing", lambda o: o["status"]["observedGeneration"] == 2)
    assert (
        sts["status"]["readyReplicas"] == 1
        and sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    )
    ds = wait_for(sb, "DaemonSet", "node-agent", "shop", lambda o: o["status"]["observedGeneration"] == 2)
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 2


def test_controller_decisions_are_pure() -> None:
    deploy = {
        "kind": "Deployment",
        "metadata": {"name": "d", "generation": 3},
        "spec": {"replicas": 2, "template": {"metadata": {}}},
        "status": {"observedGeneration": 2, "readyReplicas": 2},
    }
    assert next_phase(deploy) == "done"
    deploy["spec"]["template"]["metadata"]["annotations"] = {FAIL_ANNOTATION: "fail"}
    assert next_phase(deploy) == "progressing"
    progressing = {**deploy, "status": rollout_status(deploy, "progressing", "2026-01-01T00:00:00Z")}
    assert progressing["status"]["readyReplicas"] == 2 and progressing["status"]["observedGeneration"] == 3
    assert next_phase(progressing) == "failed"
    failed = {**deploy, "status": rollout_status(progressing, "failed", "2026-01-01T00:00:00Z")}
    assert next_phase(failed) is None
