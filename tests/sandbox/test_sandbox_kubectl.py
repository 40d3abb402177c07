"""The real kubectl binaries (the venv's 1.37 and the system's 1.32) against a running sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from krr_mcp.sandbox.testing import SandboxHandle

from .conftest import API_VERSION, rr

CANDIDATES = [Path(sys.prefix) / "bin" / "kubectl", Path("/usr/bin/kubectl")]
KUBECTLS = [str(p) for p in CANDIDATES if p.exists()] or [shutil.which("kubectl") or "kubectl"]


class Kubectl:
    """One kubectl binary bound to the sandbox."""

    def __init__(self, binary: str, sb: SandboxHandle) -> None:
        self.binary = binary
        self.sb = sb

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.sb.kubectl(*args, input=input, binary=self.binary)


@pytest.fixture(params=KUBECTLS, ids=lambda p: "venv" if p.startswith(sys.prefix) else "system")
def kubectl(request: pytest.FixtureRequest, sb: SandboxHandle) -> Kubectl:
    return Kubectl(request.param, sb)


def ok(result: subprocess.CompletedProcess[str], warnings: bool = False) -> str:
    assert result.returncode == 0, f"kubectl failed ({result.returncode}): {result.stderr}"
    assert warnings or "Warning" not in result.stderr, result.stderr
    return result.stdout


def lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_get_by_short_name_and_category_shows_printer_columns(kubectl, sb: SandboxHandle) -> None:
    sb.apply(rr("web-rr", approved=False, risk="low"))
    by_short = lines(ok(kubectl("get", "rr", "-n", "shop")))
    assert by_short[0] == ["NAME", "TARGET", "APPROVED", "PHASE", "AGE"]
    assert by_short[1][:3] == ["web-rr", "web", "false"]
    by_category = lines(ok(kubectl("get", "recommendations", "-n", "shop", "-o", "wide")))
    assert by_category[0] == [
        "NAME",
        "TARGET",
        "APPROVED",
        "PHASE",
        "RISK",
        "AGE",
    ]  # priority column in -o wide
    assert by_category[1][:4] == ["web-rr", "web", "false", "low"]


def test_api_resources_lists_short_names_without_subresources(kubectl) -> None:
    out = ok(kubectl("api-resources"))
    rows = {tuple(r[:2]) for r in lines(out)}
    assert ("resourcerecommendations", "rr") in rows
    assert ("deployments", "deploy") in rows
    assert "/status" not in out


def test_apply_patch_delete_round_trip(kubectl, sb: SandboxHandle) -> None:
    manifest = yaml.safe_dump(rr("cart-rr", target="cart", approved=False))
    assert "created" in ok(kubectl("apply", "-f", "-", input=manifest))
    assert "unchanged" in ok(kubectl("apply", "-f", "-", input=manifest))
    ok(kubectl("patch", "rr", "cart-rr", "-n", "shop", "--type", "merge", "-p", '{"spec":{"approved":true}}'))
    stored = sb.get(API_VERSION, "ResourceRecommendation", "cart-rr", "shop")
    assert stored is not None and stored["spec"]["approved"] is True
    assert stored["metadata"]["generation"] == 2
    managers = {e["manager"] for e in stored["metadata"]["managedFields"]}
    assert "kubectl-patch" in managers
    assert "deleted" in ok(kubectl("delete", "rr", "cart-rr", "-n", "shop"))
    assert sb.get(API_VERSION, "ResourceRecommendation", "cart-rr", "shop") is None
    missing = kubectl("get", "rr", "cart-rr", "-n", "shop")
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_apply_updates_a_deployment_with_strategic_merge(kubectl, sb: SandboxHandle) -> None:
    web = sb.get("apps/v1", "Deployment", "web", "shop")
    assert web is not None
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": web["metadata"]["labels"]},
        "spec": web["spec"],
    }
    # Seeded objects were not created by kubectl apply: it warns and adopts them, as with a real server.
    ok(kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest)), warnings=True)
    manifest["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "250m"
    del manifest["spec"]["template"]["spec"]["containers"][1]
    assert "configured" in ok(kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest)))
    after = sb.get("apps/v1", "Deployment", "web", "shop")
    assert after is not None
    containers = after["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web"]  # removed through last-applied-configuration
    assert containers[0]["resources"]["requests"] == {"cpu": "250m", "memory": "1Gi"}
    assert after["metadata"]["generation"] == 2


def test_get_deploy_yaml_and_wide(kubectl) -> None:
    doc = yaml.safe_load(ok(kubectl("get", "deploy", "-n", "shop", "web", "-o", "yaml")))
    assert doc["kind"] == "Deployment" and doc["apiVersion"] == "apps/v1"
    assert [c["name"] for c in doc["spec"]["template"]["spec"]["containers"]] == ["web", "log-shipper"]
    assert doc["status"]["readyReplicas"] == 3
    wide = lines(ok(kubectl("get", "deploy", "-n", "shop", "-o", "wide")))
    assert wide[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[2][:4] == ["web", "3/3", "3", "3"]
    assert wide[2][5] == "web,log-shipper"
    listed = json.loads(ok(kubectl("get", "deploy", "-A", "-o", "json")))
    assert {i["metadata"]["name"] for i in listed["items"]} == {"web", "cart", "api"}


def test_watch_sees_a_change_made_by_another_client(kubectl, sb: SandboxHandle) -> None:
    sb.apply(rr("watched", approved=False))
    cmd = [kubectl.binary, "--kubeconfig", str(sb.kubeconfig), "get", "rr", "-n", "shop", "-w"]
    watch = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=sb.env())
    try:
        assert watch.stdout is not None
        first = watch.stdout.readline().split()
        assert first[:2] == ["NAME", "TARGET"]
        assert watch.stdout.readline().split()[:3] == ["watched", "web", "false"]
        with sb.api_client() as api:
            client.CustomObjectsApi(api).patch_namespaced_custom_object(
                "test.krr-mcp.io",
                "v1alpha1",
                "shop",
                "resourcerecommendations",
                "watched",
                {"spec": {"approved": True}},
            )
        assert watch.stdout.readline().split()[:3] == ["watched", "web", "true"]
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_auth_whoami_reports_the_configured_user(kubectl, sb: SandboxHandle) -> None:
    sb.set_user("alice@example.com", ["platform-team"])
    rows = lines(ok(kubectl("auth", "whoami")))
    assert ["Username", "alice@example.com"] in rows
    assert ["Groups", "[platform-team]"] in rows
    assert ok(kubectl("auth", "can-i", "delete", "deployments", "-n", "shop")).strip() == "yes"


def test_server_side_apply_with_kubectl_records_its_manager(kubectl, sb: SandboxHandle) -> None:
    manifest = yaml.safe_dump(rr("ssa-rr", risk="medium"))
    assert "serverside-applied" in ok(kubectl("apply", "--server-side", "-f", "-", input=manifest))
    stored = sb.get(API_VERSION, "ResourceRecommendation", "ssa-rr", "shop")
    assert stored is not None
    entry = next(e for e in stored["metadata"]["managedFields"] if e["manager"] == "kubectl")
    assert entry["operation"] == "Apply"
    assert "f:risk" in entry["fieldsV1"]["f:spec"]


def test_invalid_custom_resource_is_refused_with_the_reason(kubectl) -> None:
    bad = rr("bad-rr", risk="enormous")
    del bad["spec"]["targetRef"]["name"]
    result = kubectl("apply", "-f", "-", input=yaml.safe_dump(bad))
    assert result.returncode == 1
    assert "spec.targetRef.name: Required value" in result.stderr
    assert 'Unsupported value: "enormous"' in result.stderr


def test_rollout_status_follows_the_sandbox_controller(kubectl) -> None:
    ok(kubectl("set", "resources", "deploy/cart", "-n", "shop", "--requests=cpu=100m"))
    out = ok(kubectl("rollout", "status", "deploy/cart", "-n", "shop", "--timeout=20s"))
    assert "successfully rolled out" in out


def test_kubectl_scale_uses_the_scale_subresource(kubectl, sb: SandboxHandle) -> None:
    ok(kubectl("scale", "deploy/api", "-n", "billing", "--replicas=5"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        api = sb.get("apps/v1", "Deployment", "api", "billing")
        if api and api.get("status", {}).get("readyReplicas") == 5:
            break
        time.sleep(0.05)
    assert api is not None and api["spec"]["replicas"] == 5 and api["status"]["readyReplicas"] == 5


def test_explain_reads_the_crd_schema(kubectl) -> None:
    out = ok(kubectl("explain", "resourcerecommendations.spec.targetRef"))
    assert "kind\t<string> -required-" in out and "enum: Deployment, StatefulSet, DaemonSet, CronJob" in out


def test_unknown_fields_are_refused_by_strict_field_validation(kubectl) -> None:
    bad = rr("strict-rr")
    bad["spec"]["bogus"] = 1
    refused = kubectl("apply", "-f", "-", input=yaml.safe_dump(bad))
    assert refused.returncode == 1 and 'strict decoding error: unknown field "spec.bogus"' in refused.stderr
    assert "created" in ok(kubectl("apply", "--validate=false", "-f", "-", input=yaml.safe_dump(bad)))
