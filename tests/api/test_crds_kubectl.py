"""kubectl accepts the generated CRDs (client-side dry run, as `kubectl apply -f crds/` parses them), and an
RR built from the model is served with its short names, category and printer columns."""

from __future__ import annotations

from pathlib import Path

import yaml

from krr_mcp.api import CRD_MODELS
from krr_mcp.sandbox.testing import SandboxHandle

CRDS = Path(__file__).resolve().parents[2] / "crds"


def test_kubectl_apply_dry_run_client_parses_every_crd(sandbox: SandboxHandle) -> None:
    done = sandbox.kubectl("apply", "--dry-run=client", "--validate=false", "-f", str(CRDS), "-o", "yaml")
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    items = docs[0]["items"] if docs and docs[0].get("kind") == "List" else docs
    assert {d["metadata"]["name"] for d in items} == {m.crd_name for m in CRD_MODELS}
    for item in items:
        committed = yaml.safe_load((CRDS / f"{item['metadata']['name']}.yaml").read_text())
        assert item["spec"] == committed["spec"]


def test_rr_is_listed_by_short_name_and_category_with_columns(sandbox: SandboxHandle) -> None:
    manifest = {
        "apiVersion": "krr-mcp.io/v1alpha1",
        "kind": "ResourceRecommendation",
        "metadata": {"name": "cols", "namespace": "default"},
        "spec": {
            "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "containers": [{"name": "app", "current": {}, "proposed": {"requests": {"cpu": "250m"}}}],
            "evidence": {"source": "manual"},
            "reason": "test",
        },
    }
    created = sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
    assert created.returncode == 0, created.stderr
    for resource in ("rr", "recommendations", "resourcerecommendations"):
        listed = sandbox.kubectl("get", resource, "-n", "default")
        assert listed.returncode == 0, listed.stderr
        header = listed.stdout.splitlines()[0].split()
        assert header[:2] == ["NAME", "TARGET"] and "APPROVED-BY" in header and "AGE" in header
        assert "cols" in listed.stdout
    wide = sandbox.kubectl("get", "rr", "-n", "default", "-o", "wide").stdout.splitlines()[0].split()
    assert "KIND" in wide and "SOURCE" in wide
