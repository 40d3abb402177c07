"""The operator for real: kopf over HTTP against the sandbox API server, driven with the real kubectl."""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

import pytest
import yaml
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import HALVED, ORIGINAL, rr_manifest, web_deployment
from .operator_harness import CrashAt, OperatorThread, operator_running, wait_for


def kubectl(sandbox: SandboxHandle, *args: str, input: str | None = None) -> str:
    done = sandbox.kubectl(*args, input=input)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def get_json(sandbox: SandboxHandle, *args: str) -> dict[str, Any]:
    return json.loads(kubectl(sandbox, "get", *args, "-o", "json"))


def deployment_json(sandbox: SandboxHandle, name: str = "web") -> dict[str, Any]:
    return get_json(sandbox, "deployment", name, "-n", "default")


def rolled_out(sandbox: SandboxHandle, name: str = "web") -> dict[str, Any]:
    """The deployment once the sandbox's controller has settled its status."""

    def probe() -> Any:
        obj = deployment_json(sandbox, name)
        status = obj.get("status") or {}
        settled = status.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if settled and status.get("readyReplicas") == obj["spec"]["replicas"] else None

    return wait_for(f"deployment {name} rolled out", probe)


def rr_json(sandbox: SandboxHandle, name: str = "web-rr") -> dict[str, Any]:
    return get_json(sandbox, "rr", name, "-n", "default")


def phase_is(sandbox: SandboxHandle, phase: str, name: str = "web-rr") -> Any:
    def probe() -> Any:
        rr = sandbox.get("krr-mcp.io/v1alpha1", "ResourceRecommendation", name, "default") or {}
        return rr if (rr.get("status") or {}).get("phase") == phase else None

    return probe


def spec_of(deploy: dict[str, Any]) -> dict[str, Any]:
    return deploy["spec"]


def container_resources(deploy: dict[str, Any], name: str) -> dict[str, Any]:
    for c in deploy["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c["resources"]
    raise KeyError(name)


def test_approval_gate_apply_and_rollback_from_the_outside(
    sandbox: SandboxHandle, running_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    original = rolled_out(sandbox)
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))

    proposed = wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
    time.sleep(1)  # several timer ticks of the operator
    assert proposed["status"]["cpuChange"] == "500m->250m"
    assert proposed["status"]["safety"]["allowed"] is True
    # The gate: not approved -> the workload is byte-for-byte what it was.
    assert deployment_json(sandbox) == original
    listed = kubectl(sandbox, "get", "recommendations", "-n", "default")
    assert "web-rr" in listed and "Proposed" in listed

    approve(sandbox, who="alice")
    applied = wait_for("phase Applied", phase_is(sandbox, "Applied"))
    after = deployment_json(sandbox)
    assert container_resources(after, "app") == HALVED
    # Exactly the named fields changed: put the original resources back and the specs are equal.
    restored = copy.deepcopy(after["spec"])
    restored["template"]["spec"]["containers"][0]["resources"] = ORIGINAL
    assert restored == original["spec"]
    (entry,) = applied["status"]["history"]
    assert entry["outcome"] == "Succeeded" and entry["actor"] == "alice"
    assert entry["containers"] == [{"name": "app", "before": ORIGINAL, "after": HALVED}]
    assert entry["workloadGenerationAfter"] == after["metadata"]["generation"]

    request_rollback(sandbox)
    rolled = wait_for("phase RolledBack", phase_is(sandbox, "RolledBack"))
    back = deployment_json(sandbox)
    assert back["spec"] == original["spec"]
    assert [h["action"] for h in rolled["status"]["history"]] == ["apply", "rollback"]
    events = get_json(sandbox, "events", "-n", "default")["items"]
    reasons = {(e["involvedObject"]["kind"], e["reason"]) for e in events}
    assert ("ResourceRecommendation", "Approved") in reasons
    assert ("Deployment", "ResourceRecommendationSucceeded") in reasons


def approve(sandbox: SandboxHandle, name: str = "web-rr", who: str = "alice") -> None:
    patch = json.dumps({"spec": {"approved": True, "approvedBy": who}})
    kubectl(sandbox, "patch", "rr", name, "-n", "default", "--type", "merge", "-p", patch)


def request_rollback(sandbox: SandboxHandle, name: str = "web-rr", who: str = "bob") -> None:
    patch = json.dumps({"spec": {"rollbackRequested": True, "rollbackRequestedBy": who}})
    kubectl(sandbox, "patch", "rr", name, "-n", "default", "--type", "merge", "-p", patch)


@pytest.mark.parametrize(
    ("stage", "patched_before_crash", "outcomes"),
    [
        ("snapshot-stored", False, ["Abandoned", "Succeeded"]),
        ("workload-patched", True, ["Succeeded"]),
    ],
)
def test_crash_between_snapshot_and_patch_then_restart(
    sandbox: SandboxHandle,
    operator_config: OperatorConfig,
    stage: str,
    patched_before_crash: bool,
    outcomes: list[str],
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    original = rolled_out(sandbox)
    halted = threading.Event()
    crash = CrashAt(stage, halted)
    with operator_running(operator_config, hook=crash, halted=halted) as first:
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
        wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
        approve(sandbox)
        wait_for(f"the crash at {stage}", crash.reached.is_set)
        first.kill()

    # Dead operator: one of the two legal states, and the snapshot is stored either way.
    crashed = rr_json(sandbox)
    (pending,) = crashed["status"]["history"]
    assert pending["outcome"] == "Pending"
    assert pending["containers"] == [{"name": "app", "before": ORIGINAL, "after": HALVED}]
    live = deployment_json(sandbox)
    assert container_resources(live, "app") == (HALVED if patched_before_crash else ORIGINAL)

    with operator_running(operator_config):
        applied = wait_for("phase Applied after restart", phase_is(sandbox, "Applied"))
        assert [h["outcome"] for h in applied["status"]["history"]] == outcomes
        after = deployment_json(sandbox)
        assert container_resources(after, "app") == HALVED
        assert (
            after["metadata"]["generation"] == original["metadata"]["generation"] + 1
        )  # patched exactly once
        request_rollback(sandbox)
        wait_for("phase RolledBack", phase_is(sandbox, "RolledBack"))
        assert deployment_json(sandbox)["spec"] == original["spec"]


@pytest.mark.parametrize(
    ("stage", "meanwhile", "outcome", "phase", "reason"),
    [
        # The patch was not made; a human set exactly the proposed values with kubectl: not credited.
        ("snapshot-stored", "set the proposed values", "Abandoned", "Stale", "Drift"),
        # The patch was made, then the workload deleted: nobody can tell any more; final.
        ("workload-patched", "delete the workload", "Unknown", "Failed", "WorkloadNotFound"),
        # Deleted and created again with the original values: a new object, not the one patched.
        ("workload-patched", "recreate the workload", "Unknown", "Failed", "WorkloadReplaced"),
    ],
)
def test_a_restart_does_not_credit_or_repeat_a_change_someone_else_touched(
    sandbox: SandboxHandle,
    operator_config: OperatorConfig,
    stage: str,
    meanwhile: str,
    outcome: str,
    phase: str,
    reason: str,
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    halted = threading.Event()
    crash = CrashAt(stage, halted)
    with operator_running(operator_config, hook=crash, halted=halted) as first:
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
        wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
        approve(sandbox)
        wait_for(f"the crash at {stage}", crash.reached.is_set)
        first.kill()

    if meanwhile == "set the proposed values":
        edit = {"spec": {"template": {"spec": {"containers": [{"name": "app", "resources": HALVED}]}}}}
        kubectl(
            sandbox,
            "patch",
            "deployment",
            "web",
            "-n",
            "default",
            "--type",
            "strategic",
            "-p",
            json.dumps(edit),
        )
    else:
        kubectl(sandbox, "delete", "deployment", "web", "-n", "default")
        if meanwhile == "recreate the workload":
            kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    before_restart = deployment_json(sandbox) if meanwhile != "delete the workload" else None

    with operator_running(operator_config):
        settled = wait_for(f"phase {phase} after restart", phase_is(sandbox, phase))
        history = settled["status"]["history"]
        assert [h["outcome"] for h in history] == [outcome], history
        assert history[0]["workloadUid"], history
        ready = next(c for c in settled["status"]["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == reason, ready
        if before_restart is not None:  # nothing applied to what stands there now
            assert (
                deployment_json(sandbox)["metadata"]["generation"] == before_restart["metadata"]["generation"]
            )


def test_failed_rollout_rolls_back_automatically(
    sandbox: SandboxHandle, running_operator: OperatorThread
) -> None:
    failing = web_deployment(pod_annotations={"sandbox.krr-mcp.io/rollout": "fail"})
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(failing))
    original = deployment_json(sandbox)
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest(rolloutTimeoutSeconds=10)))
    wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
    approve(sandbox)

    def rolled_back() -> Any:
        rr = rr_json(sandbox)
        actions = [(h["action"], h["outcome"]) for h in rr["status"].get("history") or []]
        return rr if ("auto-rollback", "Succeeded") in actions else None

    rr = wait_for("the automatic rollback", rolled_back, timeout=30)
    assert rr["status"]["history"][-1]["actor"] == "krr-mcp-operator"
    assert deployment_json(sandbox)["spec"] == original["spec"]


def test_a_concurrent_edit_makes_the_apply_fail_cleanly(
    sandbox: SandboxHandle, operator_config: OperatorConfig
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)

    def edit_in_between(stage: str, rr: dict[str, Any]) -> None:
        if stage == "snapshot-stored":  # someone edits the workload after the check, before the patch
            container = {"name": "app", "resources": {"limits": {"cpu": "3"}}}
            patch = json.dumps({"spec": {"template": {"spec": {"containers": [container]}}}})
            kubectl(
                sandbox, "patch", "deployment", "web", "-n", "default", "--type", "strategic", "-p", patch
            )

    with operator_running(operator_config, hook=edit_in_between):
        kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
        wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
        approve(sandbox)
        stale = wait_for("phase Stale", phase_is(sandbox, "Stale"))
    refused = stale["status"]["history"][-1]
    assert refused["outcome"] == "Failed"
    assert "the workload changed during the apply; nothing was changed" in refused["message"]
    # The refusal's own reason is ConcurrentChange; the next timer tick may already have re-decided the
    # (still approved) RR and found the same edit as Drift. Both keep the workload untouched.
    assert {c["reason"] for c in stale["status"]["conditions"]} & {"ConcurrentChange", "Drift"}
    edited = container_resources(deployment_json(sandbox), "app")
    assert edited["limits"] == {"memory": "1Gi", "cpu": "3"}
    assert edited["requests"] == ORIGINAL["requests"]


def test_newer_rr_supersedes_the_older(sandbox: SandboxHandle, running_operator: OperatorThread) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest("older")))
    wait_for("older Proposed", phase_is(sandbox, "Proposed", "older"))
    time.sleep(1.1)  # creationTimestamp has second resolution
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest("newer")))
    older = wait_for("older Superseded", phase_is(sandbox, "Superseded", "older"))
    assert older["status"]["supersededBy"] == "newer"
    approve(sandbox, "older")
    approve(sandbox, "newer")
    wait_for("newer Applied", phase_is(sandbox, "Applied", "newer"))
    time.sleep(0.7)
    assert rr_json(sandbox, "older")["status"]["phase"] == "Superseded"
    assert not rr_json(sandbox, "older")["status"].get("history")


def test_unknown_kind_and_missing_container_are_refused_with_a_condition(
    sandbox: SandboxHandle, running_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    original = rolled_out(sandbox)
    ghost = rr_manifest("ghost")
    ghost["spec"]["containers"][0]["name"] = "ghost"
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(ghost))
    refused = wait_for("ghost Failed", phase_is(sandbox, "Failed", "ghost"))
    condition = next(c for c in refused["status"]["conditions"] if c["type"] == "Refused")
    assert condition["status"] == "True" and condition["reason"] == "ContainerMissing"
    approve(sandbox, "ghost")
    time.sleep(0.7)
    assert deployment_json(sandbox)["spec"] == original["spec"]


def test_oomkilled_new_pod_rolls_back_automatically(
    sandbox: SandboxHandle, running_operator: OperatorThread
) -> None:
    # The rollout never completes.
    failing = web_deployment(pod_annotations={"sandbox.krr-mcp.io/rollout": "fail"})
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(failing))
    original = deployment_json(sandbox)
    kubectl(
        sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest())
    )  # deadline 600 s: not the trigger
    wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
    approve(sandbox)
    wait_for("phase Applying", phase_is(sandbox, "Applying"))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-new-1", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "restartCount": 3,
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                }
            ],
        },
    }
    sandbox.apply(pod)

    def rolled_back() -> Any:
        history = rr_json(sandbox)["status"].get("history") or []
        return (
            history
            if ("auto-rollback", "Succeeded") in [(h["action"], h["outcome"]) for h in history]
            else None
        )

    history = wait_for("the automatic rollback after OOMKilled", rolled_back)
    assert "OOMKilled" in history[-1]["message"]
    assert deployment_json(sandbox)["spec"] == original["spec"]
