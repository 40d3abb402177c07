"""The Helm chart charts/krr-mcp: generated from config/ and crds/ (charts/generate.py, a drift check), and
what the real helm renders with the default values is what `kubectl kustomize config/default` renders,
object by object, but for Helm's own labels and the namespace object. `helm lint --strict` passes, the
values schema refuses what a careless value would break, and every rendered object is valid against the
Kubernetes 1.37 schemas (kubernetes-validate, offline). The install on a real control plane is
tests/realcluster/test_helm.py."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest

from krr_mcp.commands.serve import Source

from ..delivery.manifests import CONFIG, ROOT, named, of_kind, render
from .helm import CHART, helm, helm_binary, pinned_helm, template, template_text

pytestmark = pytest.mark.timeout(1800)  # the first run builds helm from the Go module proxy

# Labels the chart adds to config/'s (Helm's conventions); the rest of every object is config/'s.
HELM_LABELS = {
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "helm.sh/chart",
}
POLICY_KINDS = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
ALLOW_WITHOUT_POLICY = "--allow-without-admission-policy"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chart_generate", CHART.parent / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _generator()


@pytest.fixture(scope="module")
def helm_bin() -> Path:
    return helm_binary()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm-home")


@pytest.fixture(scope="module")
def defaults(helm_bin: Path, home: Path) -> list[dict[str, Any]]:
    return template(helm_bin, home)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def without_helm_labels(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The objects by (kind, name), Helm's own labels removed."""
    out = {}
    for obj in copy.deepcopy(objects):
        labels = obj["metadata"].get("labels", {})
        for label in HELM_LABELS & set(labels):
            del labels[label]
        out[_key(obj)] = obj
    return out


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True)


def differences(chart: list[dict[str, Any]], kustomize: list[dict[str, Any]]) -> list[str]:
    ours = without_helm_labels(chart)
    theirs = without_helm_labels([o for o in kustomize if o["kind"] != "Namespace"])
    lines = [f"only in the chart: {k}" for k in sorted(set(ours) - set(theirs))]
    lines += [f"only in config/: {k}" for k in sorted(set(theirs) - set(ours))]
    lines += [
        f"{k} differs:\n  chart:   {_json(ours[k])}\n  config/: {_json(theirs[k])}"
        for k in sorted(set(ours) & set(theirs))
        if ours[k] != theirs[k]
    ]
    return lines


def _operator_args(objects: list[dict[str, Any]]) -> list[str]:
    return list(
        named(objects, "Deployment", "krr-mcp-operator")["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def _bridge(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return named(objects, "Deployment", "krr-mcp-bridge")


# -- generated from config/, and the same objects ------------------------------------------------------
def test_the_chart_is_generated_from_config_and_crds() -> None:
    assert generate.main(["--check"]) == 0, "run ./uvw run python charts/generate.py"


def test_the_drift_check_bites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hand edit of a generated template, or a template nobody generates, is stale."""
    copy_of_chart = tmp_path / "krr-mcp"
    shutil.copytree(CHART, copy_of_chart, symlinks=True)
    monkeypatch.setattr(generate, "CHART", copy_of_chart)
    assert generate.stale() == []
    role = copy_of_chart / "templates" / "rbac" / "bridge_role.yaml"
    role.write_text(role.read_text().replace('verbs: ["create", "get", "list", "watch"]', 'verbs: ["*"]'))
    stray = copy_of_chart / "templates" / "rbac" / "extra_role.yaml"
    stray.write_text("kind: ClusterRole\n")
    assert generate.stale() == [role, stray]
    (copy_of_chart / "crds").unlink()
    (copy_of_chart / "crds").mkdir()  # a copy of the CRDs would drift from crds/
    assert generate.stale() == [copy_of_chart / "crds", role, stray]


def test_the_packaged_chart_carries_the_crds_themselves(helm_bin: Path, home: Path, tmp_path: Path) -> None:
    """The chart's crds/ links to crds/; `helm package` stores the files, and no kustomization."""
    helm(helm_bin, home, "package", CHART, "--destination", tmp_path)
    with tarfile.open(next(tmp_path.glob("krr-mcp-*.tgz"))) as tar:
        packaged = {n: tar.extractfile(n).read() for n in tar.getnames() if n.startswith("krr-mcp/crds/")}  # type: ignore[union-attr]
    generated = {f"krr-mcp/crds/{p.name}": p.read_bytes() for p in (ROOT / "crds").glob("*.yaml")}
    assert packaged == generated


def through_kustomize(manifests: str, folder: Path) -> list[dict[str, Any]]:
    """The manifests read and written by kustomize, as config/default's are: go-yaml and PyYAML read a
    folded scalar's more-indented lines differently (one newline or two, in the policies' CEL, where
    whitespace means nothing), so both sides go through the same reader."""
    folder.mkdir()
    (folder / "chart.yaml").write_text(manifests)
    (folder / "kustomization.yaml").write_text("resources: [chart.yaml]\n")
    return render(folder)


def test_default_values_render_exactly_config_default(helm_bin: Path, home: Path, tmp_path: Path) -> None:
    """Same objects, same fields, same values (RBAC rules, policies' CEL, probes, resources, image...)."""
    chart = through_kustomize(template_text(helm_bin, home), tmp_path / "chart")
    assert differences(chart, render(CONFIG / "default")) == []


def test_production_values_render_exactly_the_production_overlay(
    helm_bin: Path, home: Path, tmp_path: Path
) -> None:
    """values-production.yaml (generated from config/overlays/production) gives the overlay's objects:
    two bridge replicas spread over nodes, the disruption budget, the operator's resources."""
    production = str(CHART / "values-production.yaml")
    chart = through_kustomize(template_text(helm_bin, home, "--values", production), tmp_path / "chart")
    assert differences(chart, render(CONFIG / "overlays" / "production")) == []


def test_the_comparison_bites(helm_bin: Path, home: Path, tmp_path: Path) -> None:
    changed = template_text(
        helm_bin, home, "--set", "bridge.replicas=3", "--set", "operator.resources.limits.memory=1Gi"
    )
    found = differences(through_kustomize(changed, tmp_path / "chart"), render(CONFIG / "default"))
    assert [line.split(" differs")[0] for line in found] == [
        "('Deployment', 'krr-mcp-bridge')",
        "('Deployment', 'krr-mcp-operator')",
    ]


def test_every_templated_object_carries_the_charts_labels(defaults: list[dict[str, Any]]) -> None:
    for obj in defaults:
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "krr-mcp", _key(obj)
        if obj["kind"] != "CustomResourceDefinition":  # crds/ are not templated
            assert labels["app.kubernetes.io/instance"] == "krr-mcp", _key(obj)
            assert labels["app.kubernetes.io/managed-by"] == "Helm", _key(obj)


# -- helm's own checks and the Kubernetes schemas --------------------------------------------------------
def test_the_helm_is_the_pinned_helm_4(helm_bin: Path, home: Path) -> None:
    version = helm(helm_bin, home, "version", "--template", "{{.Version}}").stdout
    assert version == pinned_helm() and version.startswith("v4.")


@pytest.mark.parametrize("admission", ["true", "false"])
def test_helm_lint_strict(helm_bin: Path, home: Path, admission: str) -> None:
    done = helm(helm_bin, home, "lint", "--strict", CHART, "--set", f"admissionPolicies.enabled={admission}")
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout, done.stdout


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["--set", "admissionPolicies.enabled=false"],
        [
            "--set",
            "bridge.replicas=2",
            "--set",
            "image.pullPolicy=Always",
            "--set",
            "bridge.allowedHosts={mcp.example.com}",
        ],
        ["--values", str(CHART / "values-production.yaml")],
    ],
    ids=["defaults", "no-policies", "changed", "production"],
)
def test_rendered_objects_are_valid_kubernetes_1_37(helm_bin: Path, home: Path, values: list[str]) -> None:
    """Strict offline validation (unknown fields fail) of every object, CRDs included."""
    version = kubernetes_validate.latest_version()
    assert version.startswith("1.37"), f"kubernetes-validate's newest schemas are {version}"
    for obj in template(helm_bin, home, *values):
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {path}: {exc.message}")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("bridge.replicas=two", "replicas"),
        ("bridge.source=report", "source"),
        ("admissionPolicies.enabled=no", "enabled"),
        ("admissionPolicies.enbled=false", "enbled"),
        ("image.digest=latest", "digest"),
        ("bridge.tokenSecret.name=Bad_Name", "name"),
        ("operator.resources.limits=null", "limits"),
    ],
)
def test_the_values_schema_refuses_careless_values(helm_bin: Path, home: Path, value: str, said: str) -> None:
    done = helm(helm_bin, home, "template", "krr-mcp", CHART, "--set", value, check=False)
    assert done.returncode != 0, done.stdout
    assert "values don't meet the specifications of the schema" in done.stderr and said in done.stderr, (
        done.stderr
    )


def test_the_schemas_recommenders_are_the_bridges() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(schema["properties"]["bridge"]["properties"]["source"]["enum"]) <= {s.value for s in Source}


# -- the values ---------------------------------------------------------------------------------------
def test_admission_policies_are_on_by_default_and_the_operator_requires_them(
    defaults: list[dict[str, Any]],
) -> None:
    assert {o["kind"] for o in defaults} >= POLICY_KINDS
    assert ALLOW_WITHOUT_POLICY not in _operator_args(defaults)


def test_turning_the_policies_off_removes_them_and_tells_the_operator(helm_bin: Path, home: Path) -> None:
    objects = template(helm_bin, home, "--set", "admissionPolicies.enabled=false")
    assert not {o["kind"] for o in objects} & POLICY_KINDS
    assert ALLOW_WITHOUT_POLICY in _operator_args(objects)


def test_another_namespace_replaces_krr_mcp_system_everywhere(helm_bin: Path, home: Path) -> None:
    objects = template(helm_bin, home, namespace="team-krr")
    text = json.dumps(objects)
    assert "krr-mcp-system" not in text
    for binding in of_kind(objects, "ClusterRoleBinding"):
        assert {s["namespace"] for s in binding["subjects"]} == {"team-krr"}
    scope = named(objects, "ValidatingAdmissionPolicy", "krr-mcp-operator-workload-scope")
    assert "'team-krr'" in scope["spec"]["validations"][0]["expression"]  # never in its own namespace
    args = _bridge(objects)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--allowed-host=krr-mcp-bridge.team-krr.svc.cluster.local" in args


def test_bridge_values_reach_the_bridge(helm_bin: Path, home: Path) -> None:
    digest = "sha256:" + "a" * 64
    objects = template(
        helm_bin, home,
        "--set", "bridge.replicas=2", "--set", "bridge.tokenSecret.name=my-token",
        "--set", "bridge.tokenSecret.key=bearer", "--set", "bridge.prometheusUrl=http://prom.obs:9090",
        "--set", "bridge.source=auto", "--set", "bridge.allowedHosts={mcp.example.com}",
        "--set", "image.repository=registry.example/krr-mcp", "--set", f"image.digest={digest}",
        "--set", "image.pullPolicy=IfNotPresent", "--set", "commonLabels.team=platform",
    )  # fmt: skip
    bridge = _bridge(objects)
    container = bridge["spec"]["template"]["spec"]["containers"][0]
    assert bridge["spec"]["replicas"] == 2
    token = next(e for e in container["env"] if e["name"] == "MCP_SERVER_TOKEN")["valueFrom"]["secretKeyRef"]
    assert token == {"name": "my-token", "key": "bearer"}
    assert not of_kind(objects, "Secret"), "no token ships"
    assert named(objects, "ConfigMap", "krr-mcp-bridge")["data"] == {
        "prometheus-url": "http://prom.obs:9090",
        "source": "auto",
    }
    assert container["args"][-3:-2] == ["--allowed-host=mcp.example.com"]
    for deployment in of_kind(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]["containers"][0]
        assert (spec["image"], spec["imagePullPolicy"]) == (
            f"registry.example/krr-mcp@{digest}",
            "IfNotPresent",
        )
        assert deployment["metadata"]["labels"]["team"] == "platform"
    assert named(objects, "Deployment", "krr-mcp-operator")["spec"]["replicas"] == 1  # never more


def test_pull_secrets_and_scheduling_reach_each_component(helm_bin: Path, home: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        "imagePullSecrets: [{name: registry}]\n"
        "operator: {nodeSelector: {pool: system}, tolerations: [{key: dedicated, operator: Exists}]}\n"
        "bridge: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution:"
        " {nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [edge]}]}]}}}}\n"
    )
    objects = template(helm_bin, home, "--values", str(values))
    operator = named(objects, "Deployment", "krr-mcp-operator")["spec"]["template"]["spec"]
    bridge = _bridge(objects)["spec"]["template"]["spec"]
    assert operator["imagePullSecrets"] == bridge["imagePullSecrets"] == [{"name": "registry"}]
    assert operator["nodeSelector"] == {"pool": "system"} and "nodeSelector" not in bridge
    assert operator["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert bridge["affinity"]["nodeAffinity"] and "affinity" not in operator


def test_the_operators_metrics_can_be_announced_for_scraping(helm_bin: Path, home: Path) -> None:
    objects = template(helm_bin, home, "--set", "operator.metrics.scrapeAnnotations=true")
    operator = named(objects, "Deployment", "krr-mcp-operator")["spec"]["template"]
    port = operator["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert operator["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert f"--probe-port={port}" in operator["spec"]["containers"][0]["args"]


def test_the_chart_version_is_the_package_version(helm_bin: Path, home: Path) -> None:
    shown = helm(helm_bin, home, "show", "chart", CHART).stdout
    assert f"version: {generate.package_version()}\n" in shown
    assert (
        f"appVersion: {generate.package_version()}\n" in shown
        or f'appVersion: "{generate.package_version()}"' in shown
    )
