"""Issue 15, operator side, against the sandbox with the running operator (kopf over HTTP, real kubectl):
an approval is for one observed state of one workload, never for a later one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from krr_operator.main import OperatorConfig

from krr_mcp.api import project_crds
from krr_mcp.sandbox.handle import SandboxHandle

from ..builders import HALVED, ORIGINAL, rr_manifest, web_deployment
from .operator_harness import OperatorThread, operator_running, wait_for
from .test_operator_sandbox import (
    approve,
    container_resources,
    deployment_json,
    get_json,
    kubectl,
    phase_is,
    request_rollback,
    rolled_out,
    rr_json,
)

# Longer than several re-checks of a waiting RR (idle interval below), so a late apply would show.
SEVERAL_RECHECKS = 3.0


@pytest.fixture
def eager_operator(operator_config: OperatorConfig) -> Iterator[OperatorThread]:
    """The operator re-checking waiting RRs every 0.3 s (in production: every minute)."""
    with operator_running(operator_config, idle_interval=0.3) as op:
        yield op


def set_app_cpu(sandbox: SandboxHandle, cpu: str) -> None:
    resources = {**ORIGINAL, "requests": {**ORIGINAL["requests"], "cpu": cpu}}
    edit = {"spec": {"template": {"spec": {"containers": [{"name": "app", "resources": resources}]}}}}
    kubectl(
        sandbox, "patch", "deployment", "web", "-n", "default", "--type", "strategic", "-p", json.dumps(edit)
    )


def proposed(sandbox: SandboxHandle, rr: dict[str, Any] | None = None) -> dict[str, Any]:
    """Deployment `web` rolled out and an RR (default: `rr_manifest()`) for it Proposed; the Deployment."""
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    live = rolled_out(sandbox)
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr or rr_manifest()))
    wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
    return live


def test_a_stale_approval_never_fires_when_the_workload_comes_back(
    sandbox: SandboxHandle, eager_operator: OperatorThread
) -> None:
    proposed(sandbox)
    set_app_cpu(sandbox, "900m")  # a person edits the Deployment after the proposal
    approve(sandbox)
    wait_for("phase Stale", phase_is(sandbox, "Stale"))
    set_app_cpu(sandbox, ORIGINAL["requests"]["cpu"])  # and back: the values the proposal was based on
    back = deployment_json(sandbox)
    time.sleep(SEVERAL_RECHECKS)
    assert container_resources(deployment_json(sandbox), "app") == ORIGINAL
    assert deployment_json(sandbox)["metadata"]["generation"] == back["metadata"]["generation"]
    stale = rr_json(sandbox)
    assert stale["status"]["phase"] == "Stale"
    assert not stale["status"].get("history")


def test_an_approval_for_a_missing_workload_never_applies_to_one_created_later(
    sandbox: SandboxHandle, eager_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
    approve(sandbox)
    stale = wait_for("phase Stale", phase_is(sandbox, "Stale"))
    assert (
        next(c for c in stale["status"]["conditions"] if c["type"] == "Ready")["reason"] == "WorkloadNotFound"
    )
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    created = rolled_out(sandbox)
    time.sleep(SEVERAL_RECHECKS)
    assert deployment_json(sandbox)["metadata"]["generation"] == created["metadata"]["generation"]
    assert container_resources(deployment_json(sandbox), "app") == ORIGINAL
    assert rr_json(sandbox)["status"]["phase"] == "Stale"


# -- item 2: where the CRD rules are not enforced, the operator holds the RR to what was approved -------


@pytest.fixture
def sandbox_without_crd_rules(tmp_path: Path) -> Iterator[SandboxHandle]:
    """Simulates an API server that does not enforce the CRD's validation rules (x-kubernetes-validations:
    an older server, or CEL turned off): an approved RR's spec can be edited."""
    handle = SandboxHandle(
        tmp_path / "kubeconfig", seed="none", crds=project_crds(), crd_validation_rules=False
    )
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def operator_without_crd_rules(sandbox_without_crd_rules: SandboxHandle) -> Iterator[OperatorThread]:
    kubeconfig = str(sandbox_without_crd_rules.kubeconfig)
    cfg = OperatorConfig(  # the sandbox runs no admission policies either
        kubeconfig=kubeconfig,
        poll_interval=0.3,
        idle_interval=0.3,
        watch_timeout=5,
        allow_without_admission_policy=True,
    )
    with operator_running(cfg) as op:
        yield op


def patch_rr_spec(sandbox: SandboxHandle, spec: dict[str, Any], name: str = "web-rr") -> None:
    kubectl(
        sandbox, "patch", "rr", name, "-n", "default", "--type", "merge", "-p", json.dumps({"spec": spec})
    )


def ready_reason(rr: dict[str, Any]) -> str:
    return str(next(c for c in rr["status"]["conditions"] if c["type"] == "Ready")["reason"])


def test_values_edited_after_the_approval_are_never_applied(
    sandbox_without_crd_rules: SandboxHandle, operator_without_crd_rules: OperatorThread
) -> None:
    sandbox = sandbox_without_crd_rules
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    original = rolled_out(sandbox)
    unsafe = {**HALVED, "requests": {**HALVED["requests"], "memory": "50Mi"}}  # below the 100Mi floor
    body = rr_manifest()
    body["spec"]["containers"][0]["proposed"] = unsafe
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(body))
    wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
    approve(sandbox)
    refused = wait_for("phase Failed", phase_is(sandbox, "Failed"))
    assert ready_reason(refused) == "SafetyRefused"
    assert refused["status"]["approval"]["workloadUid"] == original["metadata"]["uid"]
    # The approver "fixes" the numbers after approving them: a different change than the one approved.
    containers = [{"name": "app", "current": ORIGINAL, "proposed": HALVED}]
    patch_rr_spec(sandbox, {"containers": containers})

    def decided_again() -> Any:
        rr = rr_json(sandbox)
        return rr if ready_reason(rr) != "SafetyRefused" else None

    changed = wait_for("the edit decided on", decided_again)
    assert ready_reason(changed) == "ApprovedSpecChanged" and changed["status"]["phase"] == "Failed"
    time.sleep(SEVERAL_RECHECKS)
    assert deployment_json(sandbox)["metadata"]["generation"] == original["metadata"]["generation"]
    events = get_json(sandbox, "events", "-n", "default")["items"]
    assert any(e["reason"] == "ApprovedSpecChanged" and e["type"] == "Warning" for e in events)


def test_a_retargeted_rr_never_rolls_back_another_workload(
    sandbox_without_crd_rules: SandboxHandle, operator_without_crd_rules: OperatorThread
) -> None:
    sandbox = sandbox_without_crd_rules
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    other = web_deployment("payments")
    other["spec"]["template"]["spec"]["containers"][0]["resources"] = HALVED  # same values as web after apply
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(other))
    payments = rolled_out(sandbox, "payments")
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))
    wait_for("phase Proposed", phase_is(sandbox, "Proposed"))
    approve(sandbox)
    wait_for("phase Applied", phase_is(sandbox, "Applied"))
    patch_rr_spec(sandbox, {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments"}})
    patch_rr_spec(sandbox, {"rollbackRequested": True})
    refused = wait_for("phase Failed", phase_is(sandbox, "Failed"))
    assert ready_reason(refused) == "ApprovedSpecChanged"
    time.sleep(SEVERAL_RECHECKS)
    assert (
        deployment_json(sandbox, "payments")["metadata"]["generation"] == payments["metadata"]["generation"]
    )
    assert container_resources(deployment_json(sandbox, "payments"), "app") == HALVED


# -- item 8: a history forged through the status subresource is never acted on -------------------------

FORGED = {"requests": {"cpu": "90000", "memory": "900Ti"}}


def forge_status(sandbox: SandboxHandle, status: dict[str, Any], name: str = "web-rr") -> None:
    body = json.dumps({"status": status})
    kubectl(
        sandbox, "patch", "rr", name, "-n", "default", "--subresource=status", "--type", "merge", "-p", body
    )


def forged_entry(live: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "apply",
        "outcome": "Succeeded",
        "at": "2020-01-01T00:00:00Z",  # long past the rollout deadline: auto-rollback would fire
        "actor": "alice",
        "containers": [{"name": "app", "before": before, "after": after}],
        "workloadGenerationAfter": live["metadata"]["generation"],
        "workloadUid": live["metadata"]["uid"],
    }


def test_forged_history_on_an_unapproved_rr_is_never_rolled_back(
    sandbox: SandboxHandle, eager_operator: OperatorThread
) -> None:
    live = proposed(sandbox)
    forge_status(sandbox, {"phase": "Applying", "history": [forged_entry(live, FORGED, ORIGINAL)]})
    refused = wait_for("phase Failed", phase_is(sandbox, "Failed"))
    assert ready_reason(refused) == "UnapprovedHistory"
    time.sleep(SEVERAL_RECHECKS)
    assert deployment_json(sandbox)["metadata"]["generation"] == live["metadata"]["generation"]
    assert container_resources(deployment_json(sandbox), "app") == ORIGINAL


def test_a_forged_snapshot_beyond_the_ceilings_is_never_restored(
    sandbox: SandboxHandle, eager_operator: OperatorThread
) -> None:
    proposed(sandbox)
    approve(sandbox)
    applied = wait_for("phase Applied", phase_is(sandbox, "Applied"))
    history = applied["status"]["history"]
    history[0]["containers"][0]["before"] = FORGED
    forge_status(sandbox, {"history": history})
    after_apply = deployment_json(sandbox)
    request_rollback(sandbox)
    refused = wait_for("phase Failed", phase_is(sandbox, "Failed"))
    assert ready_reason(refused) == "RollbackOutOfBounds"
    time.sleep(SEVERAL_RECHECKS)
    assert deployment_json(sandbox)["metadata"]["generation"] == after_apply["metadata"]["generation"]
    assert container_resources(deployment_json(sandbox), "app") == HALVED
