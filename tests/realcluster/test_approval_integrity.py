"""Approval integrity on a real kube-apiserver (issue 15 items 3, 4, 7, 8): each case asserts the
server's own answer, RBAC's 403 or the approval policy's message, for a request made with the real
credentials of the identity named (client certificates for people, ServiceAccount tokens for robots).

The CRD's validation rules run before the admission policy, so each hostile request here is one the CRD
accepts: what refuses it is RBAC or the policy, as the case says. The same cases run on every commit
without a control plane through the policy's CEL (tests/admission/test_admission_policy.py) and the
hostile-input corpus (tests/corpus/admission/).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from krr_mcp.api.resource_recommendation import GROUP, PLURAL, VERSION
from krr_mcp.cluster import identities

from ..builders import stored_proposal
from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]

NS = identities.CI_NAMESPACE  # ci-deployer holds the built-in `edit` role here
BRIDGE = "krr-mcp-bridge"
OPERATOR = "krr-mcp-operator"
CI = "ci-deployer"
CI_USER = f"system:serviceaccount:{NS}:{CI}"
POLICY_DENIED = "ValidatingAdmissionPolicy 'krr-mcp-recommendation-approval'"


def _user(cluster: RealCluster, context: str) -> str:
    review = json.loads(cluster.kubectl("auth", "whoami", "-o", "json", context=context).stdout)
    return str(review["status"]["userInfo"]["username"])


def _patch(
    cluster: RealCluster, context: str, name: str, patch: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    args = ["patch", "resourcerecommendation", name, "-n", NS, "--type", "merge", "-p", json.dumps(patch)]
    return cluster.kubectl(*args, context=context, check=False)


def _patch_status(cluster: RealCluster, context: str, name: str, patch: dict[str, Any]) -> tuple[int, str]:
    """A merge patch of the status subresource as `context`: (HTTP status, message). Sent with the API
    client, not kubectl, which reads the status first (the bridge may not even read it)."""
    api = client.CustomObjectsApi(config.new_client_from_config(str(cluster.kubeconfig), context=context))
    try:
        api.patch_namespaced_custom_object_status(GROUP, VERSION, NS, PLURAL, name, patch)
    except ApiException as exc:
        return int(exc.status or 0), str(json.loads(exc.body or "{}").get("message"))
    return 200, ""


def _krr(cluster: RealCluster, context: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl krr ARGS` as `context` (kubectl takes no flags before a plugin's name, so the plugin is
    given a kubeconfig holding only that identity)."""
    plugin = str(Path(sys.executable).parent / "kubectl-krr")
    return subprocess.run(
        [plugin, *args], env=cluster.env(context), capture_output=True, text=True, timeout=120, check=False
    )


def _read(cluster: RealCluster, name: str) -> dict[str, Any]:
    return cluster.get("resourcerecommendation", name, "-n", NS)


def _manifest(name: str, **spec: Any) -> dict[str, Any]:
    body = stored_proposal(namespace=NS, **spec)
    body["metadata"]["name"] = name
    return body


def _refused_by_rbac(done: subprocess.CompletedProcess[str], verb: str, resource: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "(Forbidden)" in done.stderr and f'cannot {verb} resource "{resource}"' in done.stderr, done.stderr


def _refused_by_policy(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode != 0, done.stdout
    assert POLICY_DENIED in done.stderr and message in done.stderr, done.stderr


def propose(cluster: RealCluster) -> str:
    """A fresh proposal created by the bridge's ServiceAccount, as the bridge does; its name."""
    name = f"integrity-{uuid.uuid4().hex[:8]}"
    created = cluster.kubectl("create", "-f", "-", context=BRIDGE, stdin=json.dumps(_manifest(name)))
    assert created.returncode == 0
    return name


@pytest.fixture
def proposal(real_cluster: RealCluster) -> Iterator[str]:
    name = propose(real_cluster)
    yield name
    real_cluster.kubectl("delete", "resourcerecommendation", name, "-n", NS, "--wait=false", check=False)


def _approve(cluster: RealCluster, name: str, context: str = "alice") -> dict[str, Any]:
    done = _patch(cluster, context, name, {"spec": {"approved": True, "approvedBy": _user(cluster, context)}})
    assert done.returncode == 0, done.stderr
    return _read(cluster, name)


# The bridge ------------------------------------------------------------------------------------


def test_the_bridge_cannot_create_an_approved_recommendation(real_cluster: RealCluster) -> None:
    bridge = _user(real_cluster, BRIDGE)
    for spec in (
        {"approved": True, "approvedBy": bridge},
        {"approved": True, "approvedBy": "alice"},
        {"rollbackRequestedBy": "alice"},
    ):
        body = _manifest(f"forged-{uuid.uuid4().hex[:8]}", **spec)
        done = real_cluster.kubectl("create", "-f", "-", context=BRIDGE, stdin=json.dumps(body), check=False)
        _refused_by_policy(done, "the krr-mcp bridge cannot approve, name an approver or request a rollback")


@pytest.mark.parametrize(
    "spec",
    [
        {"approved": True, "approvedBy": "system:serviceaccount:krr-mcp-system:krr-mcp-bridge"},
        {"approvedBy": "alice"},
        {"rollbackRequested": True, "rollbackRequestedBy": "alice"},
    ],
)
def test_the_bridge_cannot_set_the_decision_fields(
    real_cluster: RealCluster, proposal: str, spec: dict[str, Any]
) -> None:
    _refused_by_rbac(
        _patch(real_cluster, BRIDGE, proposal, {"spec": spec}), "patch", "resourcerecommendations"
    )
    assert _read(real_cluster, proposal)["spec"].get("approved") is False


def test_the_bridge_cannot_write_status(real_cluster: RealCluster, proposal: str) -> None:
    code, message = _patch_status(real_cluster, BRIDGE, proposal, {"status": {"phase": "Applied"}})
    assert code == 403 and 'cannot patch resource "resourcerecommendations/status"' in message, message


# People ----------------------------------------------------------------------------------------


def test_alice_approves_in_her_own_name(real_cluster: RealCluster, proposal: str) -> None:
    assert _approve(real_cluster, proposal)["spec"]["approvedBy"] == "alice"


def test_alice_cannot_approve_as_bob(real_cluster: RealCluster, proposal: str) -> None:
    done = _patch(real_cluster, "alice", proposal, {"spec": {"approved": True, "approvedBy": "bob"}})
    _refused_by_policy(done, 'spec.approvedBy must be the approving user (alice), not "bob"')


def test_a_viewer_cannot_approve(real_cluster: RealCluster, proposal: str) -> None:
    done = _patch(real_cluster, "viewer", proposal, {"spec": {"approved": True, "approvedBy": "viewer"}})
    _refused_by_rbac(done, "patch", "resourcerecommendations")


@pytest.mark.parametrize(
    "edit",
    [
        {"reason": "looks fine to me"},
        {"autoRollback": False},
        {"containers": "bigger"},
    ],
    ids=["reason", "auto-rollback-off", "values"],
)
def test_approve_and_edit_in_one_request_is_refused(
    real_cluster: RealCluster, proposal: str, edit: dict[str, Any]
) -> None:
    spec: dict[str, Any] = {"approved": True, "approvedBy": "alice", **edit}
    if edit.get("containers") == "bigger":
        containers = copy.deepcopy(_read(real_cluster, proposal)["spec"]["containers"])
        containers[0]["proposed"]["limits"]["memory"] = "64Gi"
        spec["containers"] = containers
    _refused_by_policy(
        _patch(real_cluster, "alice", proposal, {"spec": spec}),
        "an approval changes only spec.approved and spec.approvedBy",
    )
    assert _read(real_cluster, proposal)["spec"]["approved"] is False


def test_a_person_cannot_create_an_approved_recommendation(real_cluster: RealCluster) -> None:
    body = _manifest(f"preapproved-{uuid.uuid4().hex[:8]}", approved=True, approvedBy="krr-mcp-admin")
    done = real_cluster.kubectl("create", "-f", "-", context="admin", stdin=json.dumps(body), check=False)
    _refused_by_policy(done, "a recommendation is created as a proposal")


def test_values_cannot_change_after_approval(real_cluster: RealCluster, proposal: str) -> None:
    approved = _approve(real_cluster, proposal)
    containers = copy.deepcopy(approved["spec"]["containers"])
    containers[0]["proposed"]["limits"]["memory"] = "64Gi"
    done = _patch(real_cluster, "admin", proposal, {"spec": {"containers": containers}})
    # The CRD's own rule answers first (422); the policy would refuse it next.
    assert done.returncode != 0 and "an approved recommendation is immutable" in done.stderr, done.stderr
    done = _patch(real_cluster, "admin", proposal, {"spec": {"reason": "rewritten after the review"}})
    _refused_by_policy(done, "an approved recommendation is immutable")


def test_a_stale_resource_version_is_a_conflict(real_cluster: RealCluster, proposal: str) -> None:
    # What `kubectl krr approve` and the documented kubectl patch rely on to approve what was reviewed.
    seen = _read(real_cluster, proposal)["metadata"]["resourceVersion"]
    real_cluster.kubectl("annotate", "resourcerecommendation", proposal, "-n", NS, "note=changed")
    stale = {"metadata": {"resourceVersion": seen}, "spec": {"approved": True, "approvedBy": "alice"}}
    done = _patch(real_cluster, "alice", proposal, stale)
    assert done.returncode != 0 and "(Conflict)" in done.stderr, done.stderr
    assert _read(real_cluster, proposal)["spec"]["approved"] is False


def test_kubectl_krr_approve_pins_the_version_it_shows(real_cluster: RealCluster, proposal: str) -> None:
    seen = _read(real_cluster, proposal)["metadata"]["resourceVersion"]
    real_cluster.kubectl("annotate", "resourcerecommendation", proposal, "-n", NS, "note=changed")
    stale = _krr(real_cluster, "alice", "approve", proposal, "-n", NS, "--resource-version", seen)
    assert stale.returncode == 3 and "changed since you reviewed it" in stale.stderr, stale.stderr
    done = _krr(real_cluster, "alice", "approve", proposal, "-n", NS)
    assert done.returncode == 0, done.stderr
    assert f"Approving resourcerecommendation {NS}/{proposal}" in done.stdout
    assert _read(real_cluster, proposal)["spec"]["approvedBy"] == "alice"


def test_kubectl_krr_rollback_names_the_requester(real_cluster: RealCluster, proposal: str) -> None:
    _approve(real_cluster, proposal)
    # The plugin asks for a rollback only of an Applied change; play the operator's status write.
    entry = {
        "action": "apply",
        "outcome": "Succeeded",
        "at": "2026-11-25T10:00:00Z",
        "actor": "alice",
        "containers": [{"name": "app", "before": {}, "after": {}}],
    }
    applied = {"status": {"phase": "Applied", "history": [entry]}}
    assert _patch_status(real_cluster, OPERATOR, proposal, applied) == (200, "")
    done = _krr(real_cluster, "bob", "rollback", proposal, "-n", NS)
    assert done.returncode == 0, done.stderr
    spec = _read(real_cluster, proposal)["spec"]
    assert (spec["rollbackRequested"], spec["rollbackRequestedBy"], spec["approvedBy"]) == (
        True,
        "bob",
        "alice",
    )


# Rollback requests ---------------------------------------------------------------------------


def test_rollback_requested_by_must_be_the_requester(real_cluster: RealCluster, proposal: str) -> None:
    _approve(real_cluster, proposal)
    as_alice = {"spec": {"rollbackRequested": True, "rollbackRequestedBy": "alice"}}
    _refused_by_policy(
        _patch(real_cluster, "bob", proposal, as_alice),
        'spec.rollbackRequestedBy must be the requesting user (bob), not "alice"',
    )
    as_bob = {"spec": {"rollbackRequested": True, "rollbackRequestedBy": "bob"}}
    assert _patch(real_cluster, "bob", proposal, as_bob).returncode == 0
    assert _read(real_cluster, proposal)["spec"]["rollbackRequestedBy"] == "bob"


def test_a_rollback_request_names_someone(real_cluster: RealCluster, proposal: str) -> None:
    _approve(real_cluster, proposal)
    done = _patch(real_cluster, "bob", proposal, {"spec": {"rollbackRequested": True}})
    assert done.returncode != 0 and "rollbackRequested requires rollbackRequestedBy" in done.stderr


# ServiceAccounts are not people --------------------------------------------------------------


def test_the_operator_cannot_approve_nor_change_spec(real_cluster: RealCluster, proposal: str) -> None:
    operator = _user(real_cluster, OPERATOR)
    message = "the krr-mcp operator never writes a recommendation's spec"
    approve = {"spec": {"approved": True, "approvedBy": operator}}
    _refused_by_policy(_patch(real_cluster, OPERATOR, proposal, approve), message)
    _refused_by_policy(_patch(real_cluster, OPERATOR, proposal, {"spec": {"reason": "x"}}), message)
    _approve(real_cluster, proposal)
    rollback = {"spec": {"rollbackRequested": True, "rollbackRequestedBy": "bob"}}
    _refused_by_policy(_patch(real_cluster, OPERATOR, proposal, rollback), message)


def test_the_operator_still_writes_finalizers_and_status(real_cluster: RealCluster, proposal: str) -> None:
    finalizer = {"metadata": {"finalizers": ["kopf.zalando.org/KopfFinalizerMarker"]}}
    assert _patch(real_cluster, OPERATOR, proposal, finalizer).returncode == 0
    assert _patch_status(real_cluster, OPERATOR, proposal, {"status": {"phase": "Proposed"}}) == (200, "")
    assert _patch(real_cluster, OPERATOR, proposal, {"metadata": {"finalizers": None}}).returncode == 0


def test_ci_deployer_cannot_approve(real_cluster: RealCluster, proposal: str) -> None:
    # RBAC lets it (edit aggregates `approve`); the policy refuses a ServiceAccount.
    allowed = real_cluster.kubectl(
        "auth", "can-i", "approve", f"resourcerecommendations/{proposal}", "-n", NS, context=CI, check=False
    )
    assert allowed.stdout.strip() == "yes"
    done = _patch(real_cluster, CI, proposal, {"spec": {"approved": True, "approvedBy": CI_USER}})
    _refused_by_policy(done, f"user {CI_USER} is a ServiceAccount, not a person")


def test_a_named_robot_approver_may_approve(real_cluster: RealCluster, proposal: str) -> None:
    annotation = "krr-mcp.io/robot-approvers"
    real_cluster.kubectl("annotate", "namespace", NS, f"{annotation}={CI_USER}", "--overwrite")
    try:
        done = _patch(real_cluster, CI, proposal, {"spec": {"approved": True, "approvedBy": CI_USER}})
        assert done.returncode == 0, done.stderr
    finally:
        real_cluster.kubectl("annotate", "namespace", NS, f"{annotation}-")
    assert _read(real_cluster, proposal)["spec"]["approvedBy"] == CI_USER
    # The namespace's own editors cannot name a robot for themselves.
    refused = real_cluster.kubectl(
        "annotate", "namespace", NS, f"{annotation}={CI_USER}", context=CI, check=False
    )
    assert refused.returncode != 0 and "(Forbidden)" in refused.stderr
