"""The GitOps patch file: applied by real kubectl (strategic merge, --local), it yields the proposal."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from krr_mcp.core.safety import render_gitops_patch

from ..builders import resources, rr_spec, workload

KUBECTL = shutil.which(
    "kubectl", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin")
) or shutil.which("kubectl")


def _apply_locally(live: dict, patch: str, tmp_path: Path) -> dict:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    (tmp_path / "live.yaml").write_text(yaml.safe_dump(live))
    (tmp_path / "patch.yaml").write_text(patch)
    result = subprocess.run(
        [
            KUBECTL,
            "patch",
            "--local",
            "-f",
            "live.yaml",
            "--type",
            "strategic",
            "--patch-file",
            "patch.yaml",
            "-o",
            "yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "CronJob"])
def test_patch_file_applies_the_proposal_and_nothing_else(kind: str, tmp_path: Path) -> None:
    live_resources = resources(cpu="500m", cpu_limit="1", memory="512Mi", memory_limit="512Mi")
    live_resources["requests"]["ephemeral-storage"] = "1Gi"  # not ours: must survive
    live = workload(
        kind=kind, containers={"app": live_resources, "sidecar": resources(cpu="50m")}, image="nginx"
    )
    proposed = resources(cpu="200m", memory="300Mi", memory_limit="300Mi")  # and no cpu limit
    spec = rr_spec(
        proposed,
        kind=kind,
        current=resources(cpu="500m", cpu_limit="1", memory="512Mi", memory_limit="512Mi"),
    )
    patch = render_gitops_patch(spec, namespace="shop")
    assert patch.startswith("# Resource change for")
    patched = _apply_locally(live, patch, tmp_path)
    template = (
        patched["spec"]["jobTemplate"]["spec"]["template"]
        if kind == "CronJob"
        else patched["spec"]["template"]
    )
    by_name = {c["name"]: c for c in template["spec"]["containers"]}
    assert by_name["app"]["resources"] == {
        "requests": {"cpu": "200m", "memory": "300Mi", "ephemeral-storage": "1Gi"},
        "limits": {"memory": "300Mi"},
    }
    assert by_name["sidecar"]["resources"] == resources(cpu="50m")
    assert by_name["app"]["image"] == "nginx"


def test_patch_names_the_target() -> None:
    document = yaml.safe_load(render_gitops_patch(rr_spec(resources(cpu="1")), namespace="shop"))
    assert document["apiVersion"] == "apps/v1" and document["kind"] == "Deployment"
    assert document["metadata"] == {"name": "web", "namespace": "shop"}
