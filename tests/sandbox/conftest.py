"""Fixtures for the sandbox's own tests: a seeded sandbox without the repository's CRDs, plus the test
CRD in rr_crd.yaml (group test.krr-mcp.io, short name rr, category recommendations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from krr_mcp.sandbox.testing import SandboxHandle

HERE = Path(__file__).parent
CRD_FILE = HERE / "rr_crd.yaml"
GROUP, VERSION, PLURAL = "test.krr-mcp.io", "v1alpha1", "resourcerecommendations"
API_VERSION = f"{GROUP}/{VERSION}"


def rr(name: str, target: str = "web", namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "ResourceRecommendation",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"targetRef": {"kind": "Deployment", "name": target}, **spec},
    }


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[SandboxHandle]:
    """Default seed, no repository CRDs, the test CRD applied; fast rollout controller."""
    handle = SandboxHandle(
        tmp_path / "kubeconfig", seed="default", rollout_delay=0.05, rollout_fail_after=0.3
    )
    try:
        handle.apply(CRD_FILE.read_text())
        yield handle
    finally:
        handle.close()
