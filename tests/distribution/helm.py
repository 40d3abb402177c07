"""The real `helm` (v4, helm.sh/helm/v4 pinned in hack/helm), built from the Go module proxy on first use
into the same cache as krew (gotools.built_tools), and run with its own empty homes: no repository, no
plugin, nothing downloaded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from krr_mcp.cluster.binaries import pinned_version

from .gotools import HACK, built_tools

CHART = HACK.parent / "charts" / "krr-mcp"
HELM_MODULE = "helm.sh/helm/v4"
HELM_PACKAGE = f"{HELM_MODULE}/cmd/helm"


def pinned_helm() -> str:
    """The helm.sh/helm/v4 version hack/helm/go.mod pins."""
    version = pinned_version(HELM_MODULE, HACK)
    assert version, f"hack/helm/go.mod pins no {HELM_MODULE}"
    return version


def helm_binary() -> Path:
    """helm, stamped with its module's version (`helm version`; a source build says only v4.N)."""
    ldflags = f"-X {HELM_MODULE}/internal/version.version={pinned_helm()}"
    return built_tools("helm", HELM_PACKAGE, ldflags=ldflags) / "helm"


def helm(
    binary: Path, home: Path, *args: str | Path, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`helm ARGS` with cache, config and data homes under `home`; `check` fails on a non-zero exit."""
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_NO_PLUGINS": "1",
    }
    done = subprocess.run(
        [str(binary), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check:
        assert done.returncode == 0, f"helm {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done


def template_text(binary: Path, home: Path, *args: str, namespace: str = "krr-mcp-system") -> str:
    """`helm template krr-mcp charts/krr-mcp --include-crds ARGS`: the manifests as helm writes them."""
    return helm(
        binary, home, "template", "krr-mcp", CHART, "--namespace", namespace, "--include-crds", *args
    ).stdout


def template(binary: Path, home: Path, *args: str, namespace: str = "krr-mcp-system") -> list[dict[str, Any]]:
    """template_text as a list of objects."""
    return [doc for doc in yaml.safe_load_all(template_text(binary, home, *args, namespace=namespace)) if doc]
