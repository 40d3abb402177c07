"""crds/ is generated from the pydantic models, is a structural schema, and parses as Kubernetes YAML."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from krr_mcp.api import CRD_MODELS, project_crds
from krr_mcp.api.crdgen import (
    CRDGenerationError,
    CRDModel,
    crd_for,
    drift,
    openapi_schema,
    structural_problems,
)
from krr_mcp.api.resource_recommendation import (
    ResourceRecommendation,
)
from krr_mcp.cli import app

from ..builders import change, manifest, resources, rr, stored

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
KUBECTL = ROOT / ".venv" / "bin" / "kubectl"


def _rr_crd() -> dict[str, Any]:
    return yaml.safe_load((CRDS / "resourcerecommendations.krr-mcp.io.yaml").read_text())


def _rr_schema() -> dict[str, Any]:
    return _rr_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


# an RR as the models build it
SAMPLE_RR = manifest(
    stored(
        rr(
            containers=[
                change("app", resources("1", "1Gi"), resources("250m", "256Mi", memory_limit="512Mi"))
            ],
            reason="p95 CPU is 0.1 cores",
            approved=None,
        )
    )
)


def test_committed_crds_match_the_models() -> None:
    assert drift(CRD_MODELS, CRDS) == []


def test_the_sandbox_serves_the_committed_crds() -> None:
    """The sandbox (and so an installed wheel, which has no crds/) serves the models' CRDs: the very
    documents committed under crds/."""
    committed = [yaml.safe_load(path.read_text()) for path in sorted(CRDS.glob("*.yaml"))]
    by_name = {crd["metadata"]["name"]: crd for crd in project_crds()}
    assert {crd["metadata"]["name"]: crd for crd in committed} == by_name
    assert sorted(p.name for p in CRDS.glob("*.yaml")) == sorted(m.filename for m in CRD_MODELS)


def test_generate_check_exits_1_on_drift_and_0_when_current(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["crds", "generate", "--check", "-o", str(tmp_path)]).exit_code == 1
    written = runner.invoke(app, ["crds", "generate", "-o", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert runner.invoke(app, ["crds", "generate", "--check", "-o", str(tmp_path)]).exit_code == 0
    target = tmp_path / "resourcerecommendations.krr-mcp.io.yaml"
    target.write_text(target.read_text().replace("maxLength: 4096", "maxLength: 4097"))
    result = runner.invoke(app, ["crds", "generate", "--check", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "differs from the model" in result.output


@pytest.mark.parametrize("path", sorted(CRDS.glob("*.yaml")), ids=lambda p: p.name)
def test_crd_is_valid_against_the_kubernetes_openapi_schema(path: Path) -> None:
    crd = yaml.safe_load(path.read_text())
    kubernetes_validate.validate(crd, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("info", CRD_MODELS, ids=lambda m: m.kind)
def test_every_schema_is_structural(info: CRDModel) -> None:
    crd = crd_for(info)
    assert structural_problems(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]) == []


def test_kubectl_parses_the_crds_offline(tmp_path: Path) -> None:
    if not KUBECTL.exists():
        pytest.skip("kubectl is not installed in .venv/bin")
    for path in CRDS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    names = [p.name for p in CRDS.glob("*.yaml")]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({"resources": names}))
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(tmp_path)], capture_output=True, text=True, check=True
    )
    parsed = list(yaml.safe_load_all(out.stdout))
    assert {d["metadata"]["name"] for d in parsed} == {m.crd_name for m in CRD_MODELS}
    rr = next(d for d in parsed if d["metadata"]["name"] == "resourcerecommendations.krr-mcp.io")
    assert rr == _rr_crd()


def test_rr_names_let_kubectl_find_it_as_rr_and_recommendations() -> None:
    crd = _rr_crd()
    names = crd["spec"]["names"]
    assert crd["spec"]["scope"] == "Namespaced"
    assert "rr" in names["shortNames"]
    assert "recommendations" in names["categories"] or "recommendations" in names["shortNames"]
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"] for c in version["additionalPrinterColumns"]}
    assert {"Target", "Containers", "CPU", "Memory", "Risk", "Phase", "Approved-By", "Age"} <= columns


def test_schema_keeps_defaults_required_enums_and_cel_rules() -> None:
    spec = _rr_schema()["properties"]["spec"]
    assert spec["properties"]["approved"]["default"] is False
    assert spec["properties"]["autoRollback"]["default"] is True
    assert spec["required"] == ["target", "containers", "evidence", "reason"]
    assert spec["properties"]["target"]["properties"]["kind"]["enum"] == [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "CronJob",
    ]
    assert any("oldSelf.approved" in r["rule"] for r in spec["x-kubernetes-validations"])
    proposed = spec["properties"]["containers"]["items"]["properties"]["proposed"]
    assert len(proposed["x-kubernetes-validations"]) == 2
    before = _rr_schema()["properties"]["status"]["properties"]["history"]["items"]["properties"][
        "containers"
    ]
    assert before["items"]["properties"]["before"] == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }


def test_no_optional_field_is_nullable_or_titled() -> None:
    text = (CRDS / "resourcerecommendations.krr-mcp.io.yaml").read_text()
    for word in ("nullable", "title:", "anyOf", "$ref", "additionalProperties: false"):
        assert word not in text


def test_a_model_built_manifest_validates_against_the_crd_schema() -> None:
    schema = _rr_schema()
    jsonschema.validate(SAMPLE_RR, schema)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "containers", 0, "proposed", "requests", "cpu"), "-1"),
        (("spec", "containers", 0, "proposed", "requests", "cpu"), "1.5 cores"),
        (("spec", "containers", 0, "proposed", "requests", "memory"), "1GB"),
        (("spec", "target", "kind"), "Pod"),
        (("spec", "target", "apiVersion"), "v1"),
        (("spec", "rolloutTimeoutSeconds"), 1),
        (("spec", "containers"), []),
    ],
)
def test_the_crd_schema_refuses_what_the_model_refuses(path: tuple[Any, ...], value: Any) -> None:
    manifest = copy.deepcopy(SAMPLE_RR)
    node: Any = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, _rr_schema())
    with pytest.raises(ValueError):
        ResourceRecommendation.model_validate(manifest)


def test_structural_problems_finds_what_an_api_server_refuses() -> None:
    bad = {
        "type": "object",
        "properties": {
            "a": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "b": {"type": "array"},
            "c": {"type": "object", "properties": {}, "additionalProperties": False},
        },
        "required": ["missing"],
    }
    problems = structural_problems(bad)
    assert any(".a: no type" in p for p in problems)
    assert any(".a: has anyOf" in p for p in problems)
    assert any(".b: array without items" in p for p in problems)
    assert any(".c: additionalProperties: false" in p for p in problems)
    assert any("'missing' is not a property" in p for p in problems)


def test_a_model_that_cannot_be_a_crd_fails_generation_with_the_path() -> None:
    class Bad(BaseModel):
        spec: int | str

    with pytest.raises(CRDGenerationError, match=r"\.spec: a union"):
        openapi_schema(Bad)


def test_optional_fields_collapse_to_their_type_and_drop_a_null_default() -> None:
    class Inner(BaseModel):
        n: int = 1

    class Top(BaseModel):
        spec: Inner | None = None
        note: str | None = None

    schema = openapi_schema(Top)
    assert schema["properties"]["spec"] == {
        "properties": {"n": {"default": 1, "type": "integer"}},
        "type": "object",
    }
    assert schema["properties"]["note"] == {"type": "string"}
    assert "required" not in schema
    assert copy.deepcopy(schema) == openapi_schema(Top)
