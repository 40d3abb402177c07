"""The whole loop on a real API server (kind): the bridge's ServiceAccount may propose but not approve
(RBAC and the admission policy deny it), a human bound to the approver role approves, the operator
applies the change to a running Deployment, and a rollback restores the previous resources exactly."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from delivery.manifests import RENDERINGS, of_kind, render  # tests/ is on sys.path (pytest rootdir)
from krr_operator.api.resource_recommendation import (
    ContainerRecommendation,
    ContainerResources,
    Evidence,
    ObjectMeta,
    ResourceAmounts,
    ResourceRecommendation,
    ResourceRecommendationSpec,
    TargetRef,
)

from .cluster import BRIDGE_USER, IMAGE, E2ECluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

APPS = "e2e-apps"
HUMAN = "alice@example.org"
BEFORE = {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
AFTER = {"requests": {"cpu": "150m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}}


def approver_role() -> str:
    """The ClusterRole config/ gives humans who approve (config/rbac, named for approving)."""
    roles = [r["metadata"]["name"] for r in of_kind(render(RENDERINGS["dev"]), "ClusterRole")]
    approvers = [name for name in roles if "approv" in name]
    assert len(approvers) == 1, f"expected one approver ClusterRole in config/, found {roles}"
    return approvers[0]


def workload() -> dict[str, Any]:
    """A Deployment that starts from the already-loaded image (nothing to pull) and idles."""
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": APPS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": IMAGE,
                            "imagePullPolicy": "Never",
                            "command": ["python", "-c", "import time; time.sleep(10**9)"],
                            "resources": BEFORE,
                        }
                    ]
                },
            },
        },
    }


def recommendation(name: str, **decisions: Any) -> dict[str, Any]:
    """An RR for the workload, built with the API model (so it is what the bridge would send)."""
    rr = ResourceRecommendation(
        metadata=ObjectMeta(
            name=name,
            namespace=APPS,
            labels={"krr-mcp.io/target-kind": "Deployment", "krr-mcp.io/target-name": "web"},
            annotations={"krr-mcp.io/created-by": "bridge"},
        ),
        spec=ResourceRecommendationSpec(
            target=TargetRef(apiVersion="apps/v1", kind="Deployment", name="web"),
            containers=[
                ContainerRecommendation(
                    name="app",
                    current=ContainerResources.model_validate(BEFORE),
                    proposed=ContainerResources(
                        requests=ResourceAmounts(**AFTER["requests"]),
                        limits=ResourceAmounts(**AFTER["limits"]),
                    ),
                )
            ],
            evidence=Evidence(source="manual", historyHours=168),
            reason="e2e: requests above observed usage",
            **decisions,
        ),
    )
    return rr.to_manifest()


def live_resources(cluster: E2ECluster) -> dict[str, Any]:
    deployment = cluster.get("-n", APPS, "deployment", "web")
    return dict(deployment["spec"]["template"]["spec"]["containers"][0]["resources"])


def phase(cluster: E2ECluster, name: str) -> str:
    return str(cluster.get("-n", APPS, "recommendation", name).get("status", {}).get("phase", ""))


@pytest.fixture(scope="module")
def apps(kind_e2e: E2ECluster) -> E2ECluster:
    """Namespace e2e-apps with the running workload, and the human bound to the approver role there."""
    kind_e2e.kubectl("create", "namespace", APPS)
    kind_e2e.apply(workload())
    kind_e2e.kubectl("-n", APPS, "rollout", "status", "deployment/web", "--timeout=180s", timeout=200)
    kind_e2e.kubectl(
        "-n",
        APPS,
        "create",
        "rolebinding",
        "e2e-approver",
        f"--clusterrole={approver_role()}",
        f"--user={HUMAN}",
    )
    return kind_e2e


def test_components_run_locked_down(kind_e2e: E2ECluster) -> None:
    pods = kind_e2e.get("-n", "krr-mcp-system", "pods")["items"]
    assert {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in pods} >= {
        "krr-mcp-operator",
        "krr-mcp-bridge",
    }
    for pod in pods:
        assert pod["status"]["phase"] == "Running", pod["metadata"]["name"]
        uid = kind_e2e.kubectl(
            "-n", "krr-mcp-system", "exec", pod["metadata"]["name"], "--", "id", "-u"
        ).stdout
        assert uid.strip() == "65532"


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


def test_bridge_cannot_create_an_approved_recommendation(apps: E2ECluster) -> None:
    name = f"e2e-self-approved-{uuid.uuid4().hex[:6]}"
    manifest = recommendation(name, approved=True, approvedBy="the-assistant")
    done = apps.kubectl("create", "-f", "-", stdin=_json(manifest), as_user=BRIDGE_USER, check=False)
    assert done.returncode != 0, "the bridge created an approved recommendation"
    assert "denied" in done.stderr.lower() or "forbidden" in done.stderr.lower(), done.stderr
    absent = apps.kubectl("-n", APPS, "get", "recommendation", name, check=False)
    assert absent.returncode != 0


def test_human_approves_operator_applies_rollback_restores(apps: E2ECluster) -> None:
    name = f"e2e-loop-{uuid.uuid4().hex[:6]}"
    apps.kubectl("create", "-f", "-", stdin=_json(recommendation(name)), as_user=BRIDGE_USER)

    # The bridge cannot approve its own proposal.
    approve = _json({"spec": {"approved": True, "approvedBy": HUMAN}})
    denied = apps.kubectl(
        "-n",
        APPS,
        "patch",
        "recommendation",
        name,
        "--type=merge",
        "-p",
        approve,
        as_user=BRIDGE_USER,
        check=False,
    )
    assert denied.returncode != 0, "the bridge approved a recommendation"
    assert live_resources(apps) == BEFORE

    # A human bound to the approver role can.
    apps.kubectl("-n", APPS, "patch", "recommendation", name, "--type=merge", "-p", approve, as_user=HUMAN)
    apps.wait_for("the change to be applied", lambda: phase(apps, name) == "Applied", timeout=300)
    assert live_resources(apps) == AFTER
    apps.kubectl("-n", APPS, "rollout", "status", "deployment/web", "--timeout=180s", timeout=200)

    rr = apps.get("-n", APPS, "recommendation", name)
    history = rr["status"]["history"]
    assert history[-1]["action"] == "apply" and history[-1]["outcome"] == "Succeeded"
    assert history[-1]["containers"][0]["before"] == BEFORE
    events = apps.get("-n", APPS, "events", f"--field-selector=involvedObject.name={name}")["items"]
    assert events, "every decision is recorded as an Event on the recommendation"

    # Roll back: the stored resources come back exactly.
    rollback = _json({"spec": {"rollbackRequested": True}})
    apps.kubectl("-n", APPS, "patch", "recommendation", name, "--type=merge", "-p", rollback, as_user=HUMAN)
    apps.wait_for("the rollback", lambda: phase(apps, name) == "RolledBack", timeout=300)
    assert live_resources(apps) == BEFORE


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
