"""pytest fixtures for the sandbox API server (registered in tests/conftest.py).

- `sandbox`: namespaces default + kube-system (and the other system ones), the project's CRDs served.
- `seeded_sandbox`: the default seed on top (shop, billing, batch with sample workloads).

Each yields a `SandboxHandle` (krr_mcp.sandbox.handle): `.url`, `.kubeconfig`, `.api_client()`,
`.kubectl(*args)`, `.set_user(name, groups)`, `.apply(...)`, `.get(...)`, `.call(fn)`. The server runs in a
background thread with its own event loop, so sync and async tests (and kopf on the test's loop) talk to
it over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from krr_mcp.api import project_crds

from .handle import SandboxHandle
from .launch import Seed

__all__ = ["SandboxHandle", "sandbox", "seeded_sandbox"]


def _handle(tmp_path_factory: pytest.TempPathFactory, seed: Seed) -> Iterator[SandboxHandle]:
    folder = tmp_path_factory.mktemp("sandbox")
    handle = SandboxHandle(folder / "kubeconfig", seed=seed, crds=project_crds())
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """An empty sandbox (system namespaces, the project's CRDs)."""
    yield from _handle(tmp_path_factory, "none")


@pytest.fixture
def seeded_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """A sandbox with the default seed."""
    yield from _handle(tmp_path_factory, "default")
