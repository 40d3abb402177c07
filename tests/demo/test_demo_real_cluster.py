"""`krr-mcp demo --cluster real` end to end, as a subprocess: a real control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok), config/default installed, the sample workloads rolled
out by the real controllers, and each component under its own identity. The identities are checked
where they cannot be faked: in the API server's own audit log (who created, approved, asked for the
rollback, patched the workload). The workload must end exactly as the real controllers first rolled
it out: the original ReplicaSet serves again and the template is its template."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from krr_mcp.cluster.identities import Robot, config_service_accounts
from krr_mcp.sandbox.seed import default_objects

from .test_demo_end_to_end import KUBECTL_PATH, DemoProcess, assert_every_step_passed, kubectl

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(900)]

HASH_LABEL = "pod-template-hash"


def _robot(name: str) -> str:
    robot: Robot = next(r for r in config_service_accounts() if r.name == name)
    return robot.user


def _audit_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _who(events: list[dict[str, Any]], verb: str, resource: str, namespace: str, **match: Any) -> set[str]:
    """Users whose successful `verb` on `resource` (no subresource) in `namespace` sent a body holding
    `match` under spec (all of it when `match` is empty)."""
    users = set()
    for event in events:
        ref = event.get("objectRef") or {}
        if (event.get("verb"), ref.get("resource"), ref.get("namespace")) != (verb, resource, namespace):
            continue
        if ref.get("subresource") or (event.get("responseStatus") or {}).get("code", 0) >= 300:
            continue
        spec = (event.get("requestObject") or {}).get("spec") or {}
        if all(spec.get(k) == v for k, v in match.items()):
            users.add(event["user"]["username"])
    return users


def _seed_containers(kind: str, namespace: str, name: str) -> list[dict[str, Any]]:
    for obj in default_objects():
        meta = obj["metadata"]
        if (obj["kind"], meta.get("namespace"), meta["name"]) == (kind, namespace, name):
            return list(obj["spec"]["template"]["spec"]["containers"])
    raise AssertionError(f"{kind} {namespace}/{name} is not in the seed")


def test_the_demo_runs_the_whole_loop_on_a_real_cluster_each_part_as_itself(tmp_path: Path) -> None:
    state = tmp_path / "state"
    demo = DemoProcess(state, extra=("--cluster", "real"))
    try:
        demo.wait_for("The real cluster keeps running", timeout=600)
        took = time.monotonic() - demo.started
        out = demo.output
        print(f"krr-mcp demo --cluster real: walk-through done {took:.1f}s after the start")
        assert_every_step_passed(out)
        assert "Start a real Kubernetes control plane" in out and "3 kwok nodes" in out
        kubeconfig = str(state / "demo-cluster.kubeconfig")
        assert f"kubeconfig: {kubeconfig}" in out

        # The narration names each identity as the API server authenticated it (kubectl auth whoami).
        operator, bridge = _robot("krr-mcp-operator"), _robot("krr-mcp-bridge")
        for context, user in [
            ("krr-mcp-operator", operator),
            ("krr-mcp-bridge", bridge),
            ("alice", "alice"),
            ("bob", "bob"),
            ("viewer", "viewer"),
        ]:
            assert any(context in line and line.rstrip(" │").endswith(user) for line in out.splitlines()), (
                context
            )
        assert "krr-mcp serve --kubeconfig" in out and "--context krr-mcp-bridge" in out
        assert "--unsafe-allow-approver-credentials" not in out  # the bridge's own check stays on
        assert (
            "$ kubectl --context alice patch resourcerecommendation" in out and '"approvedBy":"alice"' in out
        )
        assert "$ kubectl --context bob patch resourcerecommendation" in out
        assert '"rollbackRequestedBy":"bob"' in out

        # The RR as the API server holds it.
        (rr,) = json.loads(
            kubectl(kubeconfig, "get", "recommendations", "-A", "-o", "json", context="admin")
        )["items"]
        namespace, target = rr["metadata"]["namespace"], rr["spec"]["target"]
        assert rr["spec"]["approved"] is True and rr["spec"]["approvedBy"] == "alice"
        assert rr["spec"]["rollbackRequested"] is True and rr["spec"]["rollbackRequestedBy"] == "bob"
        assert rr["status"]["phase"] == "RolledBack"
        assert [(h["action"], h["outcome"]) for h in rr["status"]["history"]] == [
            ("apply", "Succeeded"),
            ("rollback", "Succeeded"),
        ]
        audit_rows = subprocess.run(
            ["kubectl", "krr", "audit", "-n", namespace, "--kubeconfig", kubeconfig, "--context", "viewer"],
            capture_output=True, text=True, env={**os.environ, "PATH": KUBECTL_PATH}, timeout=60, check=True,
        ).stdout  # fmt: skip
        approve_row = next(line for line in audit_rows.splitlines() if " approve " in line)
        rollback_row = next(line for line in audit_rows.splitlines() if " rollback " in line)
        assert " alice " in approve_row and " bob " in rollback_row, audit_rows

        # The workload: restored exactly, by the real Deployment controller.
        assert target["kind"] == "Deployment"
        name = target["name"]
        workload = json.loads(
            kubectl(kubeconfig, "get", "deployment", name, "-n", namespace, "-o", "json", context="admin")
        )
        assert workload["metadata"]["generation"] == 3  # created, applied once, restored once
        status = workload["status"]
        replicas = workload["spec"]["replicas"]
        assert status["observedGeneration"] == 3
        assert status["updatedReplicas"] == status["readyReplicas"] == status["availableReplicas"] == replicas
        containers = workload["spec"]["template"]["spec"]["containers"]
        for seeded, served in zip(_seed_containers("Deployment", namespace, name), containers, strict=True):
            assert served["name"] == seeded["name"] and served["resources"] == seeded["resources"]
        selector = ",".join(f"{k}={v}" for k, v in workload["spec"]["selector"]["matchLabels"].items())
        replicasets = json.loads(
            kubectl(kubeconfig, "get", "replicasets", "-n", namespace, "-l", selector, "-o", "json")
        )["items"]
        assert len(replicasets) == 2, "one ReplicaSet for the original template, one for the change"
        original, changed = sorted(replicasets, key=lambda rs: rs["metadata"]["creationTimestamp"])
        assert (original["spec"]["replicas"], changed["spec"]["replicas"]) == (replicas, 0)
        original_template = json.loads(json.dumps(original["spec"]["template"]))
        original_template["metadata"]["labels"].pop(HASH_LABEL)
        assert workload["spec"]["template"] == original_template  # every field, not only the resources

        # The API server's own record of who did what.
        audit_log = Path(next(line for line in out.splitlines() if "audit log" in line).rsplit(": ", 1)[1])
        events = _audit_events(audit_log)
        assert _who(events, "create", "resourcerecommendations", namespace) == {bridge}
        assert _who(events, "patch", "resourcerecommendations", namespace, approved=True) == {"alice"}
        assert _who(events, "patch", "resourcerecommendations", namespace, rollbackRequested=True) == {"bob"}
        changed_workloads = _who(events, "patch", "deployments", namespace) | _who(
            events, "update", "deployments", namespace
        )
        assert changed_workloads == {operator}, "only the operator changes the workload"
    finally:
        code = demo.stop()
    assert code == 0, demo.output
    # Everything stopped with the demo: the control plane's data folder (with its audit log) is gone.
    assert not audit_log.exists()
