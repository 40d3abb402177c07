"""config/: every kustomization renders with the real kubectl, and what it renders keeps the product's
promises (PodSecurity restricted, probes, resources, one ServiceAccount per component, no default token),
validated offline against the Kubernetes schemas."""

from __future__ import annotations

import pathlib
import tomllib
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .manifests import (
    CONFIG,
    NAMESPACE,
    RENDERINGS,
    ROOT,
    all_containers,
    named,
    of_kind,
    render,
    restricted_violations,
)

COMPONENTS = {"krr-mcp-operator": "krr-mcp-operator", "krr-mcp-bridge": "krr-mcp-bridge"}  # Deployment: SA
CLUSTER_SCOPED = {
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}


@pytest.fixture(scope="module", params=sorted(RENDERINGS))
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(RENDERINGS[request.param])


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return render(RENDERINGS["base"])


def _deployments(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    deployments = of_kind(objects, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == set(COMPONENTS)
    return deployments


def test_crds_kustomization_lists_every_generated_crd() -> None:
    """crds/Kustomization is the only hand-kept file in crds/: it must name each generated CRD."""
    listed = yaml.safe_load((ROOT / "crds" / "Kustomization").read_text())["resources"]
    generated = sorted(p.name for p in (ROOT / "crds").glob("*.yaml"))
    assert generated, "crds/ holds no generated CRD: run `krr-mcp crds generate`"
    assert sorted(listed) == generated, "update crds/Kustomization to list exactly crds/*.yaml"


def test_every_crd_of_the_api_is_installed(base: list[dict[str, Any]]) -> None:
    from krr_mcp.api import CRD_MODELS

    installed = {crd["metadata"]["name"] for crd in of_kind(base, "CustomResourceDefinition")}
    assert installed == {info.crd_name for info in CRD_MODELS}


def test_namespace_enforces_pod_security_restricted(rendered: list[dict[str, Any]]) -> None:
    labels = named(rendered, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_namespaced_object_lives_in_the_system_namespace(rendered: list[dict[str, Any]]) -> None:
    for obj in rendered:
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"].get("namespace") == NAMESPACE, f"{obj['kind']} {obj['metadata']['name']}"
        assert obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "krr-mcp", obj["kind"]


def test_pods_pass_pod_security_restricted(rendered: list[dict[str, Any]]) -> None:
    for deployment in _deployments(rendered):
        spec = deployment["spec"]["template"]["spec"]
        assert restricted_violations(spec) == [], deployment["metadata"]["name"]


def test_restricted_check_catches_a_root_pod() -> None:
    """The checker itself refuses what the API server would refuse."""
    spec = {"containers": [{"name": "c", "securityContext": {"runAsUser": 0}}], "hostNetwork": True}
    problems = restricted_violations(spec)
    assert "hostNetwork is true" in problems
    assert any("allowPrivilegeEscalation" in p for p in problems)
    assert any("drop ALL" in p for p in problems)


def test_containers_are_locked_down_and_probed(rendered: list[dict[str, Any]]) -> None:
    for deployment in _deployments(rendered):
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsUser"] != 0
        assert {v["name"] for v in spec["volumes"]} >= {"tmp"}, "a read-only root needs a writable /tmp"
        for container in all_containers(spec):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert {"/tmp"} <= {m["mountPath"] for m in container["volumeMounts"]}, where
            resources = container["resources"]
            assert set(resources["requests"]) >= {"cpu", "memory"}, where
            assert "memory" in resources["limits"], where
            port_names = {p["name"] for p in container["ports"]}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                handler = container[probe].get("httpGet") or container[probe].get("tcpSocket")
                assert handler is not None, f"{where}: {probe}"
                assert handler["port"] in port_names, f"{where}: {probe} port {handler['port']}"


def test_operator_probes_and_metrics_are_served_on_its_probe_port(rendered: list[dict[str, Any]]) -> None:
    container = named(rendered, "Deployment", "krr-mcp-operator")["spec"]["template"]["spec"]["containers"][0]
    liveness, readiness = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == liveness["port"])
    assert f"--probe-port={port}" in container["args"]  # /healthz, /readyz and /metrics (operator/health.py)
    assert (liveness["path"], readiness["path"]) == ("/healthz", "/readyz")
    assert readiness["port"] == liveness["port"]


def test_exactly_one_operator_acts_at_a_time(rendered: list[dict[str, Any]]) -> None:
    spec = named(rendered, "Deployment", "krr-mcp-operator")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"


def test_one_service_account_per_component(rendered: list[dict[str, Any]]) -> None:
    used = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["serviceAccountName"]
        for d in _deployments(rendered)
    }
    assert used == COMPONENTS
    assert len(set(used.values())) == len(used), "each component has a ServiceAccount of its own"
    accounts = {sa["metadata"]["name"] for sa in of_kind(rendered, "ServiceAccount")}
    assert set(COMPONENTS.values()) <= accounts, "config/rbac must define the components' ServiceAccounts"


def test_bridge_token_comes_from_a_secret_that_never_ships(rendered: list[dict[str, Any]]) -> None:
    container = named(rendered, "Deployment", "krr-mcp-bridge")["spec"]["template"]["spec"]["containers"][0]
    from mcp_bridge.auth import TOKEN_ENV

    token = next(e for e in container["env"] if e["name"] == TOKEN_ENV)
    ref = token["valueFrom"]["secretKeyRef"]
    assert not ref.get("optional", False), "the bridge must not start without a token"
    shipped = {s["metadata"]["name"] for s in of_kind(rendered, "Secret")}
    assert ref["name"] not in shipped, "a default token would be the same in every install"
    assert "--transport=http" in container["args"]


def test_bridge_service_reaches_the_bridge_pods(rendered: list[dict[str, Any]]) -> None:
    deployment = named(rendered, "Deployment", "krr-mcp-bridge")
    service = named(rendered, "Service", "krr-mcp-bridge")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports


def test_base_image_tag_follows_the_package_version(base: list[dict[str, Any]]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = {c["image"] for d in _deployments(base) for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {f"krr-mcp:{version}"}


def test_dev_overlay_runs_the_locally_loaded_image() -> None:
    for deployment in _deployments(render(RENDERINGS["dev"])):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["image"] == "krr-mcp:dev"
            assert container["imagePullPolicy"] == "Never"


def test_production_overlay_keeps_the_bridge_available() -> None:
    objects = render(RENDERINGS["production"])
    bridge = named(objects, "Deployment", "krr-mcp-bridge")
    assert bridge["spec"]["replicas"] >= 2
    budget = named(objects, "PodDisruptionBudget", "krr-mcp-bridge")
    assert budget["spec"]["minAvailable"] < bridge["spec"]["replicas"]
    assert (
        budget["spec"]["selector"]["matchLabels"].items()
        <= bridge["spec"]["template"]["metadata"]["labels"].items()
    )


def test_rendered_objects_match_the_kubernetes_schemas(rendered: list[dict[str, Any]]) -> None:
    """Strict offline validation (unknown fields fail) for every kind the package has a schema for."""
    version = kubernetes_validate.latest_version()
    unchecked = []
    for obj in rendered:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.append(obj["kind"])
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {path}: {exc.message}")
    assert unchecked == [], f"no schema for {unchecked}"


def test_every_kustomization_in_config_is_rendered_somewhere() -> None:
    """A folder under config/ that no rendering includes would be dead configuration."""
    reached: set[pathlib.Path] = set()

    def walk(directory: pathlib.Path) -> None:
        directory = directory.resolve()
        if directory in reached:
            return
        reached.add(directory)
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        for entry in kustomization.get("resources", []):
            target = (directory / entry).resolve()
            if target.is_dir() and (target / "kustomization.yaml").exists():
                walk(target)

    for directory in RENDERINGS.values():
        walk(directory)
    present = {p.parent.resolve() for p in CONFIG.rglob("kustomization.yaml")}
    assert present <= reached, f"not included anywhere: {sorted(str(p) for p in present - reached)}"


def test_every_admission_policy_is_bound_to_deny(base: list[dict[str, Any]]) -> None:
    """A ValidatingAdmissionPolicy without a binding enforces nothing."""
    policies = {p["metadata"]["name"] for p in of_kind(base, "ValidatingAdmissionPolicy")}
    assert policies, "config/ installs no admission policy"
    bindings = of_kind(base, "ValidatingAdmissionPolicyBinding")
    for name in policies:
        actions = [
            b["spec"].get("validationActions", []) for b in bindings if b["spec"]["policyName"] == name
        ]
        assert any("Deny" in a for a in actions), f"{name} has no binding that denies"
