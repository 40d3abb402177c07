"""The krew plugin `kubectl krr`: plugins/krr.yaml is current (made from pyproject.toml's version and the
reproducible archive), krew's own validator accepts it (sigs.k8s.io/krew v0.4.3, pinned in hack/krew),
and krew's installer installs the archive so that `kubectl krr version` prints the manifest's version.

Stand-in: the launcher runs `uvx --from krr-mcp==VERSION`; krr-mcp is not on PyPI yet, so
KRR_MCP_PACKAGE points it at the wheel uv build made (uvx runs offline, from uv's cache).
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from .conftest import ROOT, Installed, user_env, uv
from .gotools import built_tools

pytestmark = pytest.mark.timeout(1200)  # the first run builds krew from the Go module proxy


def _release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("krew_release", ROOT / "plugins" / "release.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = _release()
MANIFEST = yaml.safe_load((ROOT / "plugins" / "krr.yaml").read_text())


@pytest.fixture(scope="module")
def krew() -> Path:
    return built_tools("krew", "sigs.k8s.io/krew/cmd/krew", "sigs.k8s.io/krew/cmd/validate-krew-manifest")


def _validate(tools: Path, manifest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools / "validate-krew-manifest"), "-manifest", str(manifest), "-skip-install"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_manifest_is_made_from_the_package_version_and_the_archive() -> None:
    assert release.main(["--check"]) == 0, "run ./uvw run python plugins/release.py"
    version = release.package_version()
    assert MANIFEST["spec"]["version"] == f"v{version}"
    assert f"krr-mcp=={version}" in release.LAUNCHER.format(version=version)
    assert release.archive(version) == release.archive(version)  # reproducible, so the sha256 holds


def test_the_archive_ships_the_license() -> None:
    """krew's index wants the plugin's license in its archive, and the manifest copies it on install."""
    with tarfile.open(fileobj=io.BytesIO(release.archive(release.package_version()))) as tar:
        shipped = tar.extractfile("LICENSE")
        assert shipped is not None and shipped.read() == (ROOT / "LICENSE").read_bytes()
    copied = {f["from"] for f in MANIFEST["spec"]["platforms"][0]["files"]}
    assert copied == {"kubectl-krr", "LICENSE"}


def test_krews_validator_accepts_the_manifest(krew: Path) -> None:
    done = _validate(krew, ROOT / "plugins" / "krr.yaml")
    assert done.returncode == 0, done.stderr
    assert "structural validation OK" in done.stderr and "no overlapping" in done.stderr


def test_krews_validator_refuses_a_broken_manifest(krew: Path, tmp_path: Path) -> None:
    """The check bites: krew refuses what a careless edit makes."""
    text = (ROOT / "plugins" / "krr.yaml").read_text()
    for broken in (
        text.replace(MANIFEST["spec"]["platforms"][0]["sha256"], "not-a-sha256"),
        text.replace("version: v", "version: "),
        text.replace("name: krr", "name: krr-mcp"),
        text.replace("key: os", "key: kernel"),
    ):
        path = tmp_path / "krr.yaml"
        path.write_text(broken)
        assert _validate(krew, path).returncode != 0, broken


def test_krew_installs_the_archive_and_kubectl_krr_version_matches(
    krew: Path, installed: Installed, tmp_path: Path
) -> None:
    version = release.package_version()
    archive = tmp_path / release.archive_name(version)
    archive.write_bytes(release.archive(version))
    krew_root = tmp_path / "krew"
    uvx_dir = str(Path(shutil.which("uvx") or Path(uv()).parent / "uvx").parent)
    path = os.pathsep.join([str(krew_root / "bin"), uvx_dir, "/usr/bin", "/bin"])
    env = user_env(
        path,
        KREW_ROOT=str(krew_root),
        KREW_NO_UPGRADE_CHECK="1",
        UV_PYTHON=os.path.realpath(sys.executable),
        UV_OFFLINE="1",
        KRR_MCP_PACKAGE=str(installed.wheel),
    )
    manifest = ROOT / "plugins" / "krr.yaml"
    done = subprocess.run(
        [str(krew / "krew"), "install", f"--manifest={manifest}", f"--archive={archive}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert shutil.which("kubectl-krr", path=path) == str(krew_root / "bin" / "kubectl-krr")
    installed_licenses = list((krew_root / "store" / "krr").glob("*/LICENSE"))
    assert [p.read_bytes() for p in installed_licenses] == [(ROOT / "LICENSE").read_bytes()]
    kubectl = Path(sys.executable).parent / "kubectl"  # kubectl by full path: PATH has krew's bin only
    shown = subprocess.run(
        [str(kubectl), "krr", "version"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"{MANIFEST['spec']['version']}\n"
