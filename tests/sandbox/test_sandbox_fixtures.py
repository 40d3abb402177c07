"""The shared fixtures other components' tests use: `sandbox` (empty, the repository's CRDs from crds/)
and `seeded_sandbox` (the default seed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from krr_mcp.sandbox.seed import crd_files
from krr_mcp.sandbox.testing import SandboxHandle

CRDS = crd_files(Path(__file__).resolve().parents[2] / "crds")


def test_sandbox_has_system_namespaces_only(sandbox: SandboxHandle) -> None:
    with sandbox.api_client() as api:
        names = {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
    assert {"default", "kube-system"} <= names and "shop" not in names
    assert sandbox.kubeconfig.is_file() and sandbox.context == "krr-mcp-sandbox"


def test_seeded_sandbox_has_the_sample_workloads(seeded_sandbox: SandboxHandle) -> None:
    with seeded_sandbox.api_client() as api:
        apps = client.AppsV1Api(api)
        deployments = {
            (d.metadata.namespace, d.metadata.name) for d in apps.list_deployment_for_all_namespaces().items
        }
        assert deployments == {("shop", "web"), ("shop", "cart"), ("billing", "api")}
        web = apps.read_namespaced_deployment("web", "shop")
        assert [c.name for c in web.spec.template.spec.containers] == ["web", "log-shipper"]
        assert (
            apps.list_namespaced_stateful_set("billing").items
            and apps.list_namespaced_daemon_set("shop").items
        )
        assert client.BatchV1Api(api).list_namespaced_cron_job("batch").items
        hpa = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("cart", "shop")
        assert hpa.spec.scale_target_ref.name == "cart"
        assert client.CoreV1Api(api).list_namespaced_limit_range("shop").items
        assert client.CoreV1Api(api).list_namespaced_resource_quota("billing").items


@pytest.mark.skipif(not CRDS, reason="crds/ has no CRD files yet")
def test_repository_crds_are_served_with_their_names(sandbox: SandboxHandle) -> None:
    for path in CRDS:
        crd = yaml.safe_load(Path(path).read_text())
        names = crd["spec"]["names"]
        out = sandbox.kubectl("get", names["plural"], "-A")
        assert out.returncode == 0, out.stderr
        for short in names.get("shortNames", []):
            assert sandbox.kubectl("get", short, "-A").returncode == 0
        for category in names.get("categories", []):
            assert sandbox.kubectl("get", category, "-A").returncode == 0


@pytest.mark.skipif(not CRDS, reason="crds/ has no CRD files yet")
def test_kubectl_apply_of_the_crds_folder_serves_the_kinds(tmp_path: Path) -> None:
    handle = SandboxHandle(tmp_path / "kubeconfig", seed="none")
    try:
        assert handle.kubectl("get", "rr").returncode != 0  # not served yet
        folder = CRDS[0].parent
        applied = handle.kubectl("apply", "-f", str(folder))
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.count("created") == len(CRDS)
        listed = handle.kubectl("get", "rr", "-A")
        assert listed.returncode == 0 and "No resources found" in listed.stderr
        by_category = handle.kubectl("get", "recommendations", "-A")
        assert by_category.returncode == 0, by_category.stderr
    finally:
        handle.close()
