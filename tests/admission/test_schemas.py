"""config/rbac and config/admission render with kustomize and validate strictly against the Kubernetes
1.30 schemas (the oldest release with admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy) and
the newest that kubernetes-validate knows, offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def rendered(folder: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl", path=str(ROOT / ".venv" / "bin")) or shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot render with kustomize")
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "config" / folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("version", ["1.30.0", kubernetes_validate.latest_version()])
@pytest.mark.parametrize("folder", ["rbac", "admission"])
def test_manifests_validate(folder: str, version: str) -> None:
    documents = rendered(folder)
    assert documents
    for obj in documents:
        kubernetes_validate.validate(obj, version, strict=True)


def test_admission_renders_both_policies_and_their_bindings() -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in rendered("admission"))
    assert kinds == [
        ("ValidatingAdmissionPolicy", "krr-mcp-operator-workload-scope"),
        ("ValidatingAdmissionPolicy", "krr-mcp-recommendation-approval"),
        ("ValidatingAdmissionPolicyBinding", "krr-mcp-operator-workload-scope"),
        ("ValidatingAdmissionPolicyBinding", "krr-mcp-recommendation-approval"),
    ]
