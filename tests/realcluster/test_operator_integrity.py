"""Issue 15 on a real API server, as the operator's own ServiceAccount (context krr-mcp-operator):
item 14, the scope policy lets it change container cpu/memory requests and limits and nothing else;
item 5, it reads the approval admission policy with its own RBAC and sees when it is not enforced."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from krr_operator.approval_gate import APPROVAL_POLICY, ApprovalGate

from krr_mcp.api.resource_recommendation import ContainerChange, ContainerResources
from krr_mcp.cluster.identities import CONFIG_DIR
from krr_mcp.core.patches import desired_resources, json_patch
from krr_mcp.kube.client import Kube, connect

from ..builders import web_deployment
from .cluster import RealCluster

pytestmark = [pytest.mark.realcluster, pytest.mark.timeout(600)]

NS = "scope-check"
OPERATOR = "krr-mcp-operator"


@pytest.fixture(scope="module")
def web(real_cluster: RealCluster) -> Iterator[None]:
    real_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    real_cluster.apply(web_deployment(namespace=NS, replicas=1))  # app first
    yield
    real_cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def operator_patch(
    cluster: RealCluster, ops: list[dict[str, Any]], dry_run: bool = True
) -> subprocess.CompletedProcess[str]:
    args = ["patch", "deployment", "web", "-n", NS, "--type", "json", "-p", json.dumps(ops)]
    return cluster.kubectl(*args, *(["--dry-run=server"] if dry_run else []), context=OPERATOR, check=False)


SCALE = [{"op": "replace", "path": "/spec/replicas", "value": 5}]


@pytest.fixture(scope="module")
def policy_active(real_cluster: RealCluster, web: None) -> None:
    """A new policy takes a moment to be enforced: wait until the operator's scale is denied."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if operator_patch(real_cluster, SCALE).returncode != 0:
            return
        time.sleep(1)
    pytest.fail("the operator's scope policy never denied a replicas change")


@pytest.mark.parametrize(
    ("ops", "says"),
    [
        (SCALE, "may not change replicas"),
        (
            [{"op": "add", "path": "/metadata/labels", "value": {"team": "x"}}],
            "may not change the workload's labels",
        ),
        (
            [{"op": "add", "path": "/spec/template/metadata/annotations", "value": {"a": "b"}}],
            "may not change replicas",
        ),
        (
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/ports",
                    "value": [{"containerPort": 80, "hostPort": 80}],
                }
            ],
            "may change container resources only",
        ),
        (
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/resources/limits/ephemeral-storage",
                    "value": "9Gi",
                }
            ],
            "may change only the cpu and memory",
        ),
        (
            [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "evil:latest"}],
            "may change container resources only",
        ),
    ],
    ids=["replicas", "labels", "template annotations", "hostPort", "ephemeral storage", "image"],
)
def test_the_operator_may_not_change_anything_but_cpu_and_memory(
    real_cluster: RealCluster, policy_active: None, ops: list[dict[str, Any]], says: str
) -> None:
    done = operator_patch(real_cluster, ops)
    assert done.returncode != 0, done.stdout
    assert "krr-mcp-operator-workload-scope" in done.stderr and says in done.stderr, done.stderr


def test_the_operators_real_patch_is_allowed(real_cluster: RealCluster, policy_active: None) -> None:
    with connect(str(real_cluster.kubeconfig_for(OPERATOR))) as api:
        kube = Kube(api)
        live = kube.get_workload(NS, "Deployment", "web")
        assert live is not None
        before = live["spec"]["template"]["spec"]["containers"][0]["resources"]
        proposed = ContainerResources.model_validate({"requests": {"cpu": "250m", "memory": "256Mi"}})
        change = ContainerChange(name="app", before=before, after=desired_resources(before, proposed))
        patched = kube.patch_workload(NS, "Deployment", "web", json_patch("Deployment", live, [change]))
        now = patched["spec"]["template"]["spec"]["containers"][0][
            "resources"
        ]  # the server drops `limits: {}`
        undo = ContainerChange(
            name="app", before=now, after=desired_resources(now, before, keep_empty_sections_of=before)
        )  # as decisions._rollback builds it
        restored = kube.patch_workload(NS, "Deployment", "web", json_patch("Deployment", patched, [undo]))
    assert restored["spec"]["template"]["spec"]["containers"][0]["resources"] == before
    assert restored["spec"]["replicas"] == 1


def test_the_operator_sees_whether_the_approval_policy_is_enforced(real_cluster: RealCluster) -> None:
    policy_file = CONFIG_DIR / "admission" / "recommendation_approval_policy.yaml"
    with connect(str(real_cluster.kubeconfig_for(OPERATOR))) as api:
        gate, kube = ApprovalGate(), Kube(api)
        assert gate.refresh(kube) is None  # installed by config/default, and readable with its RBAC
        real_cluster.kubectl("delete", "validatingadmissionpolicybinding", APPROVAL_POLICY)
        try:
            assert "no ValidatingAdmissionPolicyBinding binds" in (gate.refresh(kube) or "")
            assert "--allow-without-admission-policy" in (gate.current() or "")
        finally:
            real_cluster.kubectl(
                "apply", "--server-side", "--field-manager=krr-mcp-install", "-f", str(policy_file)
            )
        assert gate.refresh(kube) is None
