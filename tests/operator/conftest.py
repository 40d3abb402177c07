"""Fixtures shared by the tests that run the real operator against a sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from krr_operator.main import OperatorConfig

from krr_mcp.sandbox.testing import SandboxHandle

from .operator_harness import OperatorThread, operator_running


@pytest.fixture
def operator_config(sandbox: SandboxHandle) -> OperatorConfig:
    """The operator against the sandbox, which runs no admission policies: told explicitly not to require
    the approval policy (tests/operator/test_approval_gate_sandbox.py runs it without the flag)."""
    return OperatorConfig(
        kubeconfig=str(sandbox.kubeconfig),
        poll_interval=0.3,
        watch_timeout=5,
        allow_without_admission_policy=True,
    )


@pytest.fixture
def running_operator(operator_config: OperatorConfig) -> Iterator[OperatorThread]:
    """The operator running with `operator_config` for the test (stopped and joined after it)."""
    with operator_running(operator_config) as op:
        yield op
