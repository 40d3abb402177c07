"""Fixtures shared by the tests that run the real operator against a sandbox."""

from __future__ import annotations

import pytest
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.testing import SandboxHandle


@pytest.fixture
def operator_config(sandbox: SandboxHandle) -> OperatorConfig:
    return OperatorConfig(kubeconfig=str(sandbox.kubeconfig), poll_interval=0.3, watch_timeout=5)
