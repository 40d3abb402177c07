"""Fixtures and hypothesis settings of the reliability suite.

Hypothesis settings are chosen per test (never loaded globally, so other suites keep theirs):
`HYPOTHESIS_PROFILE=long` runs deeper searches locally; the default `ci` stays well under a minute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from krr_operator.main import OperatorConfig

from krr_mcp.api import project_crds
from krr_mcp.sandbox.handle import SandboxHandle
from krr_mcp.sandbox.kubeconfig import write_kubeconfig

from .proxy import FaultProxy
from .scenes import NS, Scene
from .world import BRIDGE_MANAGER, HUMAN_MANAGER, Actor, deployment

PROFILES = {
    "ci": settings(
        max_examples=20,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=False,
        print_blob=True,
    ),
    "long": settings(
        max_examples=300,
        stateful_step_count=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    ),
}


def profile() -> settings:
    """The settings of `HYPOTHESIS_PROFILE` (ci or long; ci when unset or unknown here)."""
    return PROFILES.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), PROFILES["ci"])


@pytest.fixture(scope="module")
def quiet_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """One sandbox for a whole module, its rollout controller off (the test plays the controller)."""
    folder: Path = tmp_path_factory.mktemp("reliability-sandbox")
    handle = SandboxHandle(folder / "kubeconfig", crds=project_crds(), controller=False)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def proxied_sandbox(tmp_path: Path) -> Iterator[tuple[SandboxHandle, FaultProxy, str]]:
    """A sandbox without its rollout controller, a FaultProxy in front, and a kubeconfig for the proxy."""
    handle = SandboxHandle(tmp_path / "sandbox.kubeconfig", crds=project_crds(), controller=False)
    proxy = FaultProxy(handle.url)
    try:
        yield handle, proxy, str(write_kubeconfig(tmp_path / "proxy.kubeconfig", proxy.url))
    finally:
        proxy.close()
        handle.close()


@pytest.fixture
def scene(proxied_sandbox: tuple[SandboxHandle, FaultProxy, str]) -> Iterator[Scene]:
    sandbox, proxy, kubeconfig = proxied_sandbox
    sandbox.apply(deployment(NS, "web"))
    with sandbox.api_client() as api:
        cfg = OperatorConfig(  # the sandbox runs no admission policies: not required of it
            kubeconfig=kubeconfig, poll_interval=0.3, watch_timeout=5, allow_without_admission_policy=True
        )
        yield Scene(
            sandbox, proxy, cfg, Actor(sandbox, api, HUMAN_MANAGER), Actor(sandbox, api, BRIDGE_MANAGER)
        )
