"""The reconcile steps run directly (no kopf) against the sandbox: dry run, audit trail, error mapping."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
import structlog
import yaml
from krr_operator.audit import StatusNotStored
from krr_operator.handlers import run_once
from krr_operator.reconcile import Reconciler
from kubernetes import client

from krr_mcp.core.decisions import Decision, DecisionInputs, decide
from krr_mcp.core.workloads import containers_of
from krr_mcp.kube import dry_run as dry_run_module
from krr_mcp.kube.client import (
    AdmissionDenied,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidRequest,
    Kube,
    KubeError,
    ServerError,
    TooManyRequests,
    Unreachable,
)
from krr_mcp.kube.dry_run import dry_run
from krr_mcp.sandbox.testing import SandboxHandle

from ..builders import (
    HALVED,
    ORIGINAL,
    manifest,
    rr_manifest,
    settings_without_admission,
    web_deployment,
    workload,
)
from .test_operator_sandbox import approve, kubectl, request_rollback, rolled_out


@pytest.fixture
def kube(sandbox: SandboxHandle) -> Iterator[Kube]:
    with sandbox.api_client() as api:
        yield Kube(api)


@pytest.fixture
def web(sandbox: SandboxHandle) -> dict[str, Any]:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(web_deployment()))
    return rolled_out(sandbox)


def test_dry_run_returns_the_exact_patch_and_persists_nothing(kube: Kube, web: dict[str, Any]) -> None:
    before = kube.get_workload("default", "Deployment", "web")
    result = dry_run(kube, rr_manifest())
    assert result.accepted, result.message
    assert [op["op"] for op in result.patch[:2]] == ["test", "test"]
    assert result.resulting_resources() == {"app": HALVED}
    assert result.safety is not None and result.safety.allowed
    assert kube.get_workload("default", "Deployment", "web") == before  # nothing persisted


def test_dry_run_reports_drift_and_refusals_without_a_patch(kube: Kube, web: dict[str, Any]) -> None:
    stale = rr_manifest()
    stale["spec"]["containers"][0]["current"] = {"requests": {"cpu": "9"}}
    result = dry_run(kube, stale)
    assert not result.accepted and result.action == "stale" and not result.patch
    assert "changed since the proposal" in result.message
    missing = dry_run(kube, rr_manifest(target="nope"))
    assert not missing.accepted and "not found" in missing.message


def test_every_decision_is_audited_in_log_events_and_status(
    sandbox: SandboxHandle, kube: Kube, web: dict[str, Any]
) -> None:
    reconciler = Reconciler(kube, settings_without_admission())
    kube.create_rr("default", rr_manifest())
    with structlog.testing.capture_logs() as logs:
        assert reconciler.reconcile("default", "web-rr").action == "wait"
        rr = kube.get_rr("default", "web-rr")
        assert rr is not None
        approve(sandbox, who="alice")
        assert reconciler.reconcile("default", "web-rr").action == "apply"
    events = [e for e in logs if e["event"].startswith("rr.")]
    assert [(e["event"], e["outcome"]) for e in events] == [
        ("rr.wait", "Proposed"),
        ("rr.apply", "Pending"),
        ("rr.apply", "Succeeded"),
    ]
    done = events[-1]
    assert done["rr"] == "default/web-rr" and done["target"] == "Deployment/web" and done["actor"] == "alice"
    assert done["before"] == {"app": ORIGINAL} and done["after"] == {"app": HALVED}
    listed = json.loads(kubectl(sandbox, "get", "events", "-n", "default", "-o", "json"))["items"]
    about_rr = [e for e in listed if e["involvedObject"]["kind"] == "ResourceRecommendation"]
    about_workload = [e for e in listed if e["involvedObject"]["kind"] == "Deployment"]
    assert {e["reason"] for e in about_rr} >= {"AwaitingApproval", "Approved"}
    assert [e["reason"] for e in about_workload] == ["ResourceRecommendationSucceeded"]
    assert "alice" in about_workload[0]["message"]
    status = kube.get_rr("default", "web-rr")["status"]  # type: ignore[index]
    assert status["phase"] == "Applying" and status["history"][0]["outcome"] == "Succeeded"
    assert status["approvedAt"] and status["appliedAt"]


def test_reconcile_twice_never_patches_twice(kube: Kube, web: dict[str, Any]) -> None:
    body = rr_manifest(approved=True, approvedBy="alice")
    kube.create_rr("default", body)
    reconciler = Reconciler(kube, settings_without_admission())
    assert reconciler.reconcile("default", "web-rr").action == "apply"
    generation = kube.get_workload("default", "Deployment", "web")["metadata"]["generation"]  # type: ignore[index]
    for _ in range(3):
        assert reconciler.reconcile("default", "web-rr").action in ("follow-rollout", "noop")
    assert kube.get_workload("default", "Deployment", "web")["metadata"]["generation"] == generation  # type: ignore[index]


class _Failing(Reconciler):
    def __init__(self, error: Exception) -> None:
        self.error = error

    def reconcile(self, namespace: str, name: str, siblings: Any = None) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Unreachable("unreachable"), kopf.TemporaryError),
        (Conflict("conflict", 409), kopf.TemporaryError),
        (TooManyRequests("throttled", 429), kopf.TemporaryError),
        (ServerError("server", 503), kopf.TemporaryError),
        (StatusNotStored("the status written was not stored as sent"), kopf.TemporaryError),
        (Forbidden("forbidden", 403), kopf.PermanentError),
        (AdmissionDenied("denied by a policy", 403), kopf.PermanentError),
        (BadRequest("bad request", 400), kopf.PermanentError),
        (InvalidRequest("refusing to build an API path"), kopf.PermanentError),
    ],
)
def test_errors_map_to_kopf_retry_semantics(error: KubeError, expected: type[Exception]) -> None:
    with pytest.raises(expected):
        run_once(_Failing(error), "default", "x")


def test_an_unreachable_server_is_a_temporary_error() -> None:
    configuration = client.Configuration(host="http://127.0.0.1:9")
    configuration.retries = 0
    with client.ApiClient(configuration) as api, pytest.raises(kopf.TemporaryError):
        run_once(Reconciler(Kube(api), settings_without_admission()), "default", "x")


def test_status_pruned_by_the_server_stops_before_the_patch(kube: Kube, web: dict[str, Any]) -> None:
    """If the write-ahead snapshot is not stored as sent, the workload is never patched."""
    kube.create_rr("default", rr_manifest(approved=True, approvedBy="alice"))
    original_patch = kube.patch_rr_status

    def pruning(namespace: str, name: str, status: dict[str, Any], rv: str | None = None) -> dict[str, Any]:
        trimmed = copy.deepcopy(status)
        trimmed["history"] = []
        return original_patch(namespace, name, trimmed, rv)

    kube.patch_rr_status = pruning  # type: ignore[method-assign]
    with pytest.raises(KubeError, match="not stored as sent"):
        Reconciler(kube, settings_without_admission()).reconcile("default", "web-rr")
    assert kube.get_workload("default", "Deployment", "web")["spec"] == web["spec"]  # type: ignore[index]


def test_dry_run_shows_the_patch_even_when_safety_refuses(kube: Kube, web: dict[str, Any]) -> None:
    drastic = rr_manifest()
    drastic["spec"]["containers"][0]["proposed"] = {"requests": {"cpu": "10m", "memory": "512Mi"}}
    before = kube.get_workload("default", "Deployment", "web")
    result = dry_run(kube, drastic)
    assert result.action == "refuse"
    assert result.safety is not None and not result.safety.allowed
    assert result.accepted and "would refuse" in result.message
    assert result.resulting_resources()["app"]["requests"] == {"cpu": "10m", "memory": "512Mi"}
    assert kube.get_workload("default", "Deployment", "web") == before


def test_dry_run_decides_once(kube: Kube, web: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """One `decide` on one set of inputs, also when the safety rules refuse (no second pass)."""
    seen: list[DecisionInputs] = []

    def counting(inputs: DecisionInputs) -> Decision:
        seen.append(inputs)
        return decide(inputs)

    monkeypatch.setattr(dry_run_module, "decide", counting)
    drastic = rr_manifest()
    drastic["spec"]["containers"][0]["proposed"] = {"requests": {"cpu": "10m", "memory": "512Mi"}}
    for body in (rr_manifest(), drastic):
        seen.clear()
        result = dry_run(kube, body)
        assert result.patch and len(seen) == 1, result
        (inputs,) = seen
        assert inputs.safety is not None and inputs.safety.allowed == (body is not drastic)


def _until(reconciler: Reconciler, kube: Kube, phase: str, tries: int = 60) -> dict[str, Any]:
    for _ in range(tries):
        reconciler.reconcile("default", "w-rr")
        rr = kube.get_rr("default", "w-rr") or {}
        if (rr.get("status") or {}).get("phase") == phase:
            return rr
        time.sleep(0.1)
    raise AssertionError(f"never reached {phase}: {rr.get('status')}")


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet", "CronJob"])
def test_every_kind_is_applied_and_rolled_back_over_http(
    sandbox: SandboxHandle, kube: Kube, kind: str
) -> None:
    replicas = 2 if kind == "StatefulSet" else None
    w = manifest(
        workload(kind, "w", {"app": ORIGINAL}, image="nginx", replicas=replicas, schedule="0 3 * * *")
    )
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(w))
    before = kube.get_workload("default", kind, "w")
    assert before is not None
    body = rr_manifest("w-rr", target="w", approved=True, approvedBy="alice")
    body["spec"]["target"] = {"apiVersion": w["apiVersion"], "kind": kind, "name": "w"}
    kube.create_rr("default", body)
    reconciler = Reconciler(kube, settings_without_admission())
    _until(reconciler, kube, "Applied")
    live = kube.get_workload("default", kind, "w")
    assert live is not None
    (container,) = containers_of(live, kind)
    assert container["resources"] == HALVED
    request_rollback(sandbox, "w-rr")
    _until(reconciler, kube, "RolledBack")
    assert kube.get_workload("default", kind, "w")["spec"] == before["spec"]  # type: ignore[index]
