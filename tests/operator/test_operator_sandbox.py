"""The operator for real: kopf over HTTP against the sandbox API server, driven with the real kubectl."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from krr_operator.main import OperatorConfig
from operator_harness import OperatorThread, wait_for

from krr_mcp.sandbox.testing import SandboxHandle

ORIGINAL = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
PROPOSED = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


def deployment(name: str = "web", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    template_meta: dict[str, Any] = {"labels": {"app": name}}
    if annotations:
        template_meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": template_meta,
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1.27", "resources": copy.deepcopy(ORIGINAL)},
                        {"name": "sidecar", "image": "envoy:1", "resources": {"requests": {"cpu": "100m"}}},
                    ],
                    "initContainers": [
                        {"name": "init", "image": "busybox", "resources": copy.deepcopy(ORIGINAL)}
                    ],
                },
            },
        },
    }


def rr_manifest(name: str = "web-rr", target: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "containers": [{"name": "app", "current": ORIGINAL, "proposed": PROPOSED}],
            "evidence": {"source": "krr", "strategy": "simple", "historyHours": 336},
            "reason": "p95 CPU 0.12 cores over 14 days",
            **spec,
        },
    }


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


@pytest.fixture
def operator_config(sandbox: SandboxHandle) -> OperatorConfig:
    return OperatorConfig(kubeconfig=str(sandbox.kubeconfig), poll_interval=0.3, watch_timeout=5)


@pytest.fixture
def running_operator(operator_config: OperatorConfig) -> Iterator[OperatorThread]:
    op = OperatorThread(operator_config).start()
    yield op
    op.kill()


def test_approval_gate_apply_and_rollback_from_the_outside(
    sandbox: SandboxHandle, running_operator: OperatorThread
) -> None:
    kubectl(sandbox, "apply", "-f", "-", input=yaml.safe_dump(deployment()))
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

    kubectl(
        sandbox,
        "patch",
        "rr",
        "web-rr",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        '{"spec":{"approved":true,"approvedBy":"alice"}}',
    )
    applied = wait_for("phase Applied", phase_is(sandbox, "Applied"))
    after = deployment_json(sandbox)
    assert container_resources(after, "app") == PROPOSED
    # Exactly the named fields changed: put the original resources back and the specs are equal.
    restored = copy.deepcopy(after["spec"])
    restored["template"]["spec"]["containers"][0]["resources"] = ORIGINAL
    assert restored == original["spec"]
    (entry,) = applied["status"]["history"]
    assert entry["outcome"] == "Succeeded" and entry["actor"] == "alice"
    assert entry["containers"] == [{"name": "app", "before": ORIGINAL, "after": PROPOSED}]
    assert entry["workloadGenerationAfter"] == after["metadata"]["generation"]

    kubectl(
        sandbox,
        "patch",
        "rr",
        "web-rr",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        '{"spec":{"rollbackRequested":true}}',
    )
    rolled = wait_for("phase RolledBack", phase_is(sandbox, "RolledBack"))
    back = deployment_json(sandbox)
    assert back["spec"] == original["spec"]
    assert [h["action"] for h in rolled["status"]["history"]] == ["apply", "rollback"]
    events = get_json(sandbox, "events", "-n", "default")["items"]
    reasons = {(e["involvedObject"]["kind"], e["reason"]) for e in events}
    assert ("ResourceRecommendation", "Approved") in reasons
    assert ("Deployment", "ResourceRecommendationSucceeded") in reasons
