"""Issue 15 item 5 with the running operator (no --allow-without-admission-policy) against the sandbox:
without the approval admission policy, nothing verifies who approved, so no approval is applied.

The sandbox serves ValidatingAdmissionPolicies and their bindings as stored objects and never enforces
them: these tests check what the operator reads and does, not the policy itself (tests/admission/ and
the real-cluster suite do)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.handle import SandboxHandle

from ..builders import HALVED, ORIGINAL, rr_manifest, web_deployment
from .operator_harness import OperatorThread, operator_running, wait_for
from .test_operator_sandbox import (
    approve,
    container_resources,
    deployment_json,
    kubectl,
    phase_is,
    rolled_out,
    rr_json,
)

POLICY_FILE = Path(__file__).resolve().parents[2] / "config/admission/recommendation_approval_policy.yaml"


@pytest.fixture
def strict_operator(operator_config: OperatorConfig) -> Iterator[OperatorThread]:
    """The operator as shipped: approvals only while the approval policy is installed (checked often)."""
    with operator_running(
        operator_config, allow_without_admission_policy=False, admission_check_interval=0.3, idle_interval=0.3
    ) as op:
        yield op


def condition(rr: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in (rr.get("status") or {}).get("conditions") or [] if c["type"] == type_), None)


def test_without_the_policy_an_approval_written_under_a_borrowed_name_is_never_applied(
    sandbox: SandboxHandle, strict_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    live = rolled_out(sandbox)
    # A stolen bridge token creates an approved RR, claiming kubectl's field manager.
    forged = rr_manifest(approved=True, approvedBy="alice")
    kubectl(
        sandbox, "create", "--field-manager=kubectl-client-side-apply", "-f", "-", input=json.dumps(forged)
    )
    refused = wait_for("phase Failed", phase_is(sandbox, "Failed"))
    ready = next(c for c in refused["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ApprovalPolicyMissing"
    assert "krr-mcp-recommendation-approval is not installed" in ready["message"]
    time.sleep(1.0)
    assert deployment_json(sandbox)["metadata"]["generation"] == live["metadata"]["generation"]
    assert container_resources(deployment_json(sandbox), "app") == ORIGINAL


def test_waiting_rrs_say_why_until_the_policy_is_installed(
    sandbox: SandboxHandle, strict_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    rolled_out(sandbox)
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(rr_manifest()))

    def gate_closed() -> Any:
        found = condition(rr_json(sandbox), "ApprovalsEnforced")
        return found if found and found["status"] == "False" else None

    closed = wait_for("the waiting RR says approvals are not applied", gate_closed)
    assert (
        closed["reason"] == "ApprovalPolicyMissing"
        and "--allow-without-admission-policy" in closed["message"]
    )
    kubectl(sandbox, "apply", "-f", str(POLICY_FILE))  # stored (the sandbox does not enforce it)

    def gate_open() -> Any:
        found = condition(rr_json(sandbox), "ApprovalsEnforced")
        return found if found and found["status"] == "True" else None

    assert wait_for("the condition turns True", gate_open)["reason"] == "ApprovalPolicyEnforced"
    approve(sandbox)
    wait_for("phase Applied", phase_is(sandbox, "Applied"))
    assert container_resources(deployment_json(sandbox), "app") == HALVED
