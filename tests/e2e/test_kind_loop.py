"""The whole loop on a real API server (kind): the assistant proposes through the in-cluster bridge over
streamable HTTP (bearer token from the Secret); the bridge's ServiceAccount cannot approve (RBAC and the
admission policy deny it); a human bound to the approver role approves; the operator applies the change
to a running Deployment; a rollback restores the previous resources exactly."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import httpx2
import pytest
from krr_operator.api.resource_recommendation import (
    ContainerRecommendation,
    ContainerResources,
    Evidence,
    ObjectMeta,
    ResourceRecommendation,
    ResourceRecommendationSpec,
    TargetRef,
)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ..delivery.manifests import RENDERINGS, of_kind, render
from .cluster import BRIDGE_TOKEN, BRIDGE_USER, IMAGE, SYSTEM_NAMESPACE, E2ECluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

APPS = "e2e-apps"
HUMAN = "alice@example.org"
BEFORE = {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
AFTER = {"requests": {"cpu": "150m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}}


def rendered_names(kind: str) -> list[str]:
    return [o["metadata"]["name"] for o in of_kind(render(RENDERINGS["dev"]), kind)]


def approver_role() -> str:
    """The ClusterRole config/ gives humans who approve (config/rbac, named for approving)."""
    approvers = [name for name in rendered_names("ClusterRole") if "approv" in name]
    assert len(approvers) == 1, f"expected one approver ClusterRole in config/, found {approvers}"
    return approvers[0]


def workload() -> dict[str, Any]:
    """A Deployment that starts from the already-loaded image (nothing to pull) and idles."""
    labels = {"app": "web"}
    container = {
        "name": "app",
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "command": ["python", "-c", "import time; time.sleep(10**9)"],
        "resources": BEFORE,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": APPS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def self_approved_recommendation(name: str) -> dict[str, Any]:
    """An RR that claims approval, built with the API model: valid for the CRD, refused by admission."""
    rr = ResourceRecommendation(
        metadata=ObjectMeta(name=name, namespace=APPS, annotations={"krr-mcp.io/created-by": "bridge"}),
        spec=ResourceRecommendationSpec(
            target=TargetRef(apiVersion="apps/v1", kind="Deployment", name="web"),
            containers=[
                ContainerRecommendation(
                    name="app",
                    current=ContainerResources.model_validate(BEFORE),
                    proposed=ContainerResources.model_validate(AFTER),
                )
            ],
            evidence=Evidence(source="manual"),
            reason="e2e: an assistant approving its own proposal",
            approved=True,
            approvedBy="the-assistant",
        ),
    )
    return rr.to_manifest()


def live_resources(cluster: E2ECluster) -> dict[str, Any]:
    deployment = cluster.get("-n", APPS, "deployment", "web")
    return dict(deployment["spec"]["template"]["spec"]["containers"][0]["resources"])


def phase(cluster: E2ECluster, name: str) -> str:
    return str(cluster.get("-n", APPS, "recommendation", name).get("status", {}).get("phase", ""))


def web_proposal() -> dict[str, Any]:
    """propose_change's argument for the workload: its container's complete desired resources."""
    return {"namespace": APPS, "kind": "Deployment", "name": "web", "containers": [{"name": "app", **AFTER}]}


async def propose_through_the_bridge(cluster: E2ECluster, reason: str) -> str:
    """What an assistant does: propose_change over streamable HTTP to the in-cluster bridge."""
    proposal = web_proposal()
    with cluster.kind.port_forward("service/krr-mcp-bridge", 8000, "-n", SYSTEM_NAMESPACE) as port:
        headers = {"Authorization": f"Bearer {BRIDGE_TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client,
        ):
            result = await client.call_tool("propose_change", {"proposals": [proposal], "reason": reason})
    assert not result.is_error, result.content
    structured = result.structured_content
    assert isinstance(structured, dict), result.content
    return str(structured["created"][0]["name"])


@pytest.fixture(scope="module")
def apps(kind_e2e: E2ECluster) -> E2ECluster:
    """Namespace e2e-apps with the running workload, and the human bound to the approver role there."""
    kind_e2e.kubectl("delete", "namespace", APPS, "--ignore-not-found", "--wait=true", timeout=300)
    kind_e2e.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APPS}})
    kind_e2e.apply(workload())
    kind_e2e.kubectl("-n", APPS, "rollout", "status", "deployment/web", "--timeout=180s", timeout=200)
    kind_e2e.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "e2e-approver", "namespace": APPS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": approver_role(),
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": HUMAN}],
        }
    )
    return kind_e2e


def test_components_run_as_the_image_user_under_pod_security_restricted(kind_e2e: E2ECluster) -> None:
    namespace = kind_e2e.get("namespace", SYSTEM_NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = [
        p
        for p in kind_e2e.get("-n", SYSTEM_NAMESPACE, "pods")["items"]
        if "deletionTimestamp" not in p["metadata"]
    ]
    names = {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in pods}
    assert names >= {"krr-mcp-operator", "krr-mcp-bridge"}
    for pod in pods:
        assert pod["status"]["phase"] == "Running", pod["metadata"]["name"]
        uid = kind_e2e.kubectl(
            "-n", SYSTEM_NAMESPACE, "exec", pod["metadata"]["name"], "--", "id", "-u"
        ).stdout
        assert uid.strip() == "65532"


def test_bridge_serves_mcp_only_with_its_token(kind_e2e: E2ECluster) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with kind_e2e.kind.port_forward("service/krr-mcp-bridge", 8000, "-n", SYSTEM_NAMESPACE) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        without = httpx.post(url, json=initialize, headers=headers, timeout=30)
        wrong = httpx.post(
            url, json=initialize, headers=headers | {"Authorization": "Bearer nope"}, timeout=30
        )
        right = httpx.post(
            url, json=initialize, headers=headers | {"Authorization": f"Bearer {BRIDGE_TOKEN}"}, timeout=30
        )
    assert (without.status_code, wrong.status_code) == (401, 401)
    assert right.status_code == 200, right.text


def test_bridge_may_propose_but_never_change_workloads(apps: E2ECluster) -> None:
    def can(verb: str, resource: str, *extra: str) -> str:
        done = apps.kubectl(
            "auth", "can-i", verb, resource, *extra, "-n", APPS, as_user=BRIDGE_USER, check=False
        )
        return done.stdout.strip()

    assert can("create", "resourcerecommendations.krr-mcp.io") == "yes"
    for verb in ("patch", "update", "delete"):
        assert can(verb, "deployments.apps") == "no", verb
    assert can("patch", "resourcerecommendations.krr-mcp.io", "--subresource=status") == "no"


def test_admission_refuses_an_approved_recommendation_from_the_bridge(apps: E2ECluster) -> None:
    """RBAC lets the bridge create recommendations; the admission policy refuses one that is approved."""
    name = f"e2e-self-approved-{uuid.uuid4().hex[:6]}"
    manifest = json.dumps(self_approved_recommendation(name))
    done = apps.kubectl("create", "-f", "-", stdin=manifest, as_user=BRIDGE_USER, check=False)
    assert done.returncode != 0, "the bridge created an approved recommendation"
    policies = rendered_names("ValidatingAdmissionPolicy")
    assert any(policy in done.stderr for policy in policies), f"not denied by {policies}:\n{done.stderr}"
    assert apps.kubectl("-n", APPS, "get", "recommendation", name, check=False).returncode != 0


async def test_human_approves_operator_applies_rollback_restores(apps: E2ECluster) -> None:
    name = await propose_through_the_bridge(apps, "e2e: requests above observed usage")
    rr = apps.get("-n", APPS, "recommendation", name)
    assert rr["spec"]["approved"] is False
    spec_managers = {
        m["manager"] for m in rr["metadata"]["managedFields"] if "f:spec" in m.get("fieldsV1", {})
    }
    assert spec_managers == {"krr-mcp-bridge"}, "the bridge's ServiceAccount wrote the proposal"

    # The bridge cannot approve its own proposal.
    approve = json.dumps({"spec": {"approved": True, "approvedBy": HUMAN}})
    patch = ("-n", APPS, "patch", "recommendation", name, "--type=merge", "-p")
    denied = apps.kubectl(*patch, approve, as_user=BRIDGE_USER, check=False)
    assert denied.returncode != 0, "the bridge approved a recommendation"
    assert live_resources(apps) == BEFORE

    # A human bound to the approver role can; the operator applies it.
    apps.kubectl(*patch, approve, as_user=HUMAN)
    apps.wait_for("the change to be applied", lambda: phase(apps, name) == "Applied", timeout=300)
    assert live_resources(apps) == AFTER
    apps.kubectl("-n", APPS, "rollout", "status", "deployment/web", "--timeout=180s", timeout=200)

    history = apps.get("-n", APPS, "recommendation", name)["status"]["history"]
    assert (history[-1]["action"], history[-1]["outcome"], history[-1]["actor"]) == (
        "apply",
        "Succeeded",
        HUMAN,
    )
    assert history[-1]["containers"][0]["before"] == BEFORE
    events = apps.get("-n", APPS, "events", f"--field-selector=involvedObject.name={name}")["items"]
    assert events, "every decision is recorded as an Event on the recommendation"

    # Roll back: the stored resources come back exactly.
    apps.kubectl(
        *patch, json.dumps({"spec": {"rollbackRequested": True, "rollbackRequestedBy": HUMAN}}), as_user=HUMAN
    )
    apps.wait_for("the rollback", lambda: phase(apps, name) == "RolledBack", timeout=300)
    assert live_resources(apps) == BEFORE
